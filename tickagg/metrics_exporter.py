"""Prometheus ``/metrics`` for one group: a collector that reads the group at scrape time, and its HTTP server.

Nothing is kept between scrapes: each one reads the group snapshot
(tickagg/group_snapshot.py: ring headers and the writer's status file) and the
cumulative latency histograms the aggregator and the writer publish in shared
memory (shm/histogram_segment.py), so the exporter may run in any process of
the group's user (`tickagg run --metrics-port`, `tickagg status --serve`, the
tickagg-metrics unit) and be restarted at will. Labels name venues, stages,
tables, roles and error kinds, never symbols. Counters restart from 0 when the
process that counts them restarts (Prometheus' ``rate`` allows for that).

The server binds 127.0.0.1 unless told otherwise (``[ADDR:]PORT``).
"""
from __future__ import annotations

import logging
import re
import signal
import sys
import threading

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from shm.histogram_segment import read_all
from shm.pipeline_records import STAGE_NAMES
from shm.records import EXCHANGE_IDS
from tickagg.latency_buckets import le_buckets

log = logging.getLogger("tickagg.metrics")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
REQUEST_TIMEOUT_S = 10.0  # a connection with no complete request (or response read) by then is closed
VENUE_OF_ID = {exchange_id: venue for venue, exchange_id in EXCHANGE_IDS.items()}
LATENCY_HELP = ("latency per pipeline stage and venue, s; buckets 1, 2, 5 per decade from 1 us to 10 s: each "
                "log-linear bucket (16 per octave) is counted under the first bound at or above its largest value; "
                "_sum estimated from bucket midpoints")
_ADDRESS = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})|(?P<only>\d{1,5})")


class GroupCollector(Collector):
    """Metrics of ``group``, read afresh at every scrape; ``snapshot`` reads the group (default: read_group)."""

    def __init__(self, group: str, state_dir: str | None = None, snapshot=None):
        self.group, self.state_dir = group, state_dir
        self._snapshot = snapshot

    def read(self) -> dict:
        if self._snapshot is not None:
            return self._snapshot()
        from tickagg.group_snapshot import read_group

        return read_group(self.group, state_dir=self.state_dir)

    def collect(self):
        snapshot = self.read()
        yield from venue_families(snapshot.get("venues", {}))
        yield from pipeline_families(snapshot)
        latency = read_all(self.group)
        if latency is not None:
            yield latency_family(latency)


def venue_families(venues: dict):
    families = {
        "ticks": CounterMetricFamily("tickagg_ticks", "ticks the feed parsed and wrote to its ring", labels=["venue"]),
        "drops": CounterMetricFamily("tickagg_drops", "ticks dropped: the feed's ring was full", labels=["venue"]),
        "gaps": CounterMetricFamily("tickagg_gaps", "sequence gaps the venue's messages showed", labels=["venue"]),
        "reconnects": CounterMetricFamily("tickagg_reconnects", "WebSocket reconnections", labels=["venue"]),
    }
    errors = CounterMetricFamily("tickagg_parse_errors", "messages the feed rejected, by kind", labels=["venue", "kind"])
    connections = GaugeMetricFamily("tickagg_connections", "open WebSocket connections (0 when the feed is down)",
                                    labels=["venue"])
    up = GaugeMetricFamily("tickagg_feed_up", "1 while the venue's feed process holds its ring", labels=["venue"])
    age = GaugeMetricFamily("tickagg_last_tick_age_seconds", "seconds since the venue's last tick was received",
                            labels=["venue"])
    lag = GaugeMetricFamily("tickagg_feed_ring_lag_records", "ticks in the venue's ring the aggregator has not read",
                            labels=["venue"])
    for venue, row in sorted(venues.items()):
        for key, family in families.items():
            _add(family, [venue], row.get(key))
        for kind, value in sorted((row.get("errors_by_kind") or {}).items()):
            _add(errors, [venue, kind], value)
        _add(connections, [venue], row.get("connections"))
        _add(up, [venue], row.get("alive"))
        _add(age, [venue], row.get("last_tick_age_s"))
        _add(lag, [venue], row.get("lag_records"))
    return [*families.values(), errors, connections, up, age, lag]


def pipeline_families(snapshot: dict):
    aggregator, writer = snapshot.get("aggregator") or {}, snapshot.get("writer") or {}
    up = GaugeMetricFamily("tickagg_up", "1 while the role's process holds its rings", labels=["role"])
    lag = GaugeMetricFamily("tickagg_lag_records", "records waiting for the role in its input rings", labels=["role"])
    for role, row in (("aggregator", aggregator), ("writer", writer)):
        _add(up, [role], row.get("alive"))
        _add(lag, [role], row.get("lag_records"))
    lag_s = GaugeMetricFamily("tickagg_lag_seconds", "age of the oldest tick the role has not read", labels=["role"])
    _add(lag_s, ["aggregator"], aggregator.get("lag_s"))
    ticks = CounterMetricFamily("tickagg_aggregator_ticks", "ticks the aggregator folded")
    _add(ticks, [], aggregator.get("ticks"))
    rows = CounterMetricFamily("tickagg_rows_written", "rows the writer stored, per table (this writer run)",
                               labels=["table"])
    for table, value in sorted((writer.get("rows_stored") or {}).items()):
        _add(rows, [table], value)
    spill_bytes = GaugeMetricFamily("tickagg_spill_bytes", "bytes spilled to disk while the store was unreachable")
    _add(spill_bytes, [], writer.get("spill_bytes"))
    spill_rows = GaugeMetricFamily("tickagg_spill_rows", "rows spilled to disk, not yet replayed")
    _add(spill_rows, [], writer.get("spill_rows"))
    dead = GaugeMetricFamily("tickagg_dead_letter_rows", "rows the store rejected, kept as dead letters")
    _add(dead, [], writer.get("dead_letter_rows"))
    store_up = GaugeMetricFamily("tickagg_store_up", "1 while the writer reaches its store")
    _add(store_up, [], writer.get("store_up"))
    unreadable = GaugeMetricFamily("tickagg_unreadable_rings", "rings of the group that could not be read (damaged, "
                                   "foreign or another user's)")
    _add(unreadable, [], len(snapshot.get("unreadable") or ()))
    return [up, lag, lag_s, ticks, rows, spill_bytes, spill_rows, dead, store_up, unreadable]


def latency_family(counts) -> HistogramMetricFamily:
    """One series per stage and venue with counts, from the ``[stage, exchange_id, bucket]`` totals."""
    family = HistogramMetricFamily("tickagg_latency_seconds", LATENCY_HELP, labels=["stage", "venue"])
    totals = counts.sum(axis=2)
    for stage, exchange in zip(*totals.nonzero()):
        venue = VENUE_OF_ID.get(int(exchange), f"id{int(exchange)}")
        buckets, sum_s = le_buckets(counts[stage, exchange])
        family.add_metric([STAGE_NAMES[stage], venue], buckets, sum_s)
    return family


def _add(family, labels: list[str], value) -> None:
    """A sample, unless the snapshot had no number (None: unknown, never shown as 0)."""
    if isinstance(value, (int, float)):  # bools too; None (unknown) and anything else left out
        family.add_metric(labels, float(value))


def parse_address(text: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[V6]:PORT`` -> (host, port); the host defaults to 127.0.0.1. ValueError if bad."""
    match = _ADDRESS.fullmatch(text.strip())
    if not match or int(match["port"] or match["only"]) > 65535:
        raise ValueError(f"bad metrics address {text!r}: use PORT, HOST:PORT or [IPV6]:PORT (port 0..65535)")
    host = match["v6"] or match["host"] or DEFAULT_HOST
    return host, int(match["port"] or match["only"])


def address_argument(text: str) -> tuple[str, int]:
    """argparse ``type`` for ``[ADDR:]PORT``."""
    import argparse

    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def start_server(collector: Collector, address: tuple[str, int], request_timeout_s: float = REQUEST_TIMEOUT_S):
    """Serve ``/metrics`` of ``collector`` in a daemon thread; the server (``server_address``: where it listens).
    prometheus_client's own server, with a socket timeout on each connection (its handler has none: every idle
    client would keep a thread for ever)."""
    import socket
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)

    family, _, _, _, where = socket.getaddrinfo(address[0], address[1], type=socket.SOCK_STREAM)[0]
    Server = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
    handler = type("MetricsHandler", (WSGIRequestHandler,), {"timeout": request_timeout_s,
                                                             "log_message": lambda *_: None})
    server = make_server(where[0], address[1], make_wsgi_app(registry), Server, handler_class=handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


def serve_forever(group: str, state_dir: str | None, address: tuple[str, int]) -> int:
    """`tickagg status --serve`: serve until SIGTERM or SIGINT; 0, or 1 if the address cannot be had."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        server = start_server(GroupCollector(group, state_dir), address)
    except OSError as exc:  # taken, not ours, no such host
        print(f"tickagg status: cannot serve metrics on {address[0]}:{address[1]}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(f"serving Prometheus metrics of group {group} on http://{_host_text(host)}:{port}/metrics", flush=True)
    while not stop.wait(3600):
        pass
    server.shutdown()
    server.server_close()
    return 0


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host
