"""One snapshot of a running group, read from shared memory and the writer's status file: what `tickagg status`,
`tickagg run`'s status line (and other viewers) show.

Cheap and plain: rings are opened as monitors with ``numba=False`` (no Numba import, no role taken), their
header words and a few records read with ``pread``. It works the same for a group started by `tickagg run` or by
the systemd units: everything comes from the rings and ``<state-dir>/<group>/status.json``.

Counters are cumulative (a viewer takes two snapshots for rates; a counter that went down means its process
restarted: the writer's ``rows_stored`` counts per writer run). Nothing read is trusted: a ring that cannot be
read (damaged, truncated, foreign, another user's) is named under ``unreadable`` and left out, never raised;
metric names from a ring header are kept only when they look like names; the writer's file goes through
tickagg/writer_report.py.

Liveness is the OFD lock of a ring's role (the kernel drops it when the process dies), never a counter: a feed
SIGKILLed while connected leaves ``connected = 1`` in its ring, so a dead feed has 0 connections here. With
``roles`` (the supervisor's), a role's process must also be running.
"""
from __future__ import annotations

import math
import re
import time

import numpy as np

from shm import segment
from shm.pipeline_records import STAGE_TICK_TO_SIGNAL
from shm.records import EXCHANGE_IDS
from shm.ring import MONITOR, Ring, group_rings, ring_name
from shm.topology import event_ring, stored_ring, tick_ring
from tickagg.writer_report import clean_text, read_report, report_path, writer_fields

LATENCY_ROWS = 256  # out.latency records looked at for the latest tick-to-signal p99 (one row per stage and venue a second)
LATENCY_RECENT_S = 10.0  # an older latest second (an idle aggregator): no p99
_ERROR_METRIC = re.compile(r"err_([a-z0-9_]{1,48})")


def read_group(group: str, *, state_dir: str | None = None, roles=None, exchanges=(), report: str | None = None) -> dict:
    """The snapshot of ``group``::

      {"group", "time_ns", "rings": int (the group's rings in shared memory), "unreadable": [ring short names],
       "venues": {venue: {"alive", "connections", "ticks", "drops", "gaps", "reconnects", "errors",
                          "errors_by_kind": {kind: int}, "last_tick_age_s": float|None, "lag_records"}},
       "aggregator": {"alive", "ticks", "lag_records", "lag_s": float|None, "tick_to_signal_p99_ms": float|None},
       "writer": {"alive", "lag_records", "rows_stored": {table: int}, "spill_rows", "spill_bytes",
                  "dead_letter_rows" (int|None: from the writer's file), "store_up": bool|None,
                  "store_error": str|None, "report_age_s": float|None, "report": path|None, "report_error": str|None,
                  "tick_inserts": {"count", "seconds", "p99_ms", "buckets"}|None (the ticks inserts' times since
                  the writer started: tickagg/writer_report.py)}}

    ``state_dir``: the writer's ``--state-dir`` (its status file is ``<state_dir>/<group>/status.json``);
    ``report``: that file's path instead. ``roles``: supervisor roles (``name``, ``alive``) that must be running
    too (``feed-<venue>``, ``aggregate``, ``write``). ``exchanges``: venues shown even before their ring exists.
    """
    now_ns = time.time_ns()
    shorts = _ring_shorts(group)
    supervised = {role.name: role for role in roles or ()}
    snapshot = {"group": group, "time_ns": now_ns, "rings": len(shorts), "venues": {}, "unreadable": []}
    rings = _Rings(group, snapshot["unreadable"])
    venues = list(exchanges) + [short for short in shorts if short in EXCHANGE_IDS and short not in exchanges]
    for venue in venues:
        snapshot["venues"][venue] = _venue(rings, venue, supervised.get(f"feed-{venue}"), now_ns)
    snapshot["aggregator"] = _aggregator(rings, snapshot["venues"], supervised.get("aggregate"), now_ns)
    path = report or (report_path(state_dir, group) if state_dir else None)
    snapshot["writer"] = _writer(rings, shorts, venues, path, supervised.get("write"))
    rings.close()
    return snapshot


class _Rings:
    """The group's rings opened as monitors, once each per snapshot; what cannot be read is named in ``unreadable``."""

    def __init__(self, group: str, unreadable: list[str]):
        self.group, self.unreadable = group, unreadable
        self._open: dict[str, tuple[Ring | None, dict | None]] = {}

    def get(self, short: str) -> tuple[Ring | None, dict | None]:
        """``(ring, status)`` of a readable ring; ``(None, None)`` if it is missing or unreadable."""
        if short not in self._open:
            self._open[short] = self._attach(short)
        return self._open[short]

    def _attach(self, short: str) -> tuple[Ring | None, dict | None]:
        name = ring_name(self.group, short)
        if not segment.exists(name):
            return None, None
        try:
            ring = Ring(name, MONITOR, numba=False)
        except Exception:  # noqa: BLE001 — damaged, foreign, refused, removed meanwhile: never the viewer's crash
            if segment.exists(name):
                self.unreadable.append(short)
            return None, None
        try:
            status = ring.status()
        except Exception:  # noqa: BLE001
            status = {"error": "unreadable"}
        if status.get("error") or status.get("problem"):
            self.unreadable.append(short)
            ring.close()
            return None, None
        return ring, status

    def close(self) -> None:
        for ring, _ in self._open.values():
            if ring is not None:
                ring.close()
        self._open.clear()


def _venue(rings: _Rings, venue: str, role, now_ns: int) -> dict:
    ring, status = rings.get(tick_ring(venue))
    metrics = status["metrics"] if status else {}
    alive = bool(status and status["producer_alive"]) and (role is None or role.alive)
    connections = metrics.get("connections", metrics.get("connected", 0))
    last = _record(ring, status["head"] - 1, "ts_recv_ns") if status and status["head"] > 0 else None
    return {
        "alive": alive,
        "connections": max(0, connections) if alive else 0,  # a dead feed's counter is what it left behind
        "ticks": metrics.get("ticks", 0),
        "drops": status["dropped"] if status else 0,
        "gaps": metrics.get("gaps", 0),
        "reconnects": metrics.get("reconnects", 0),
        "errors": metrics.get("errors", 0),
        "errors_by_kind": {match.group(1): value for name, value in metrics.items()
                           if value and (match := _ERROR_METRIC.fullmatch(name))},
        "last_tick_age_s": _age_s(last, now_ns),
        "lag_records": status["lag"] if status else 0,  # not yet read by the aggregator
    }


def _aggregator(rings: _Rings, venues: dict, role, now_ns: int) -> dict:
    _, status = rings.get("out.ticks")
    oldest = None
    for venue in venues:
        ring, feed = rings.get(tick_ring(venue))
        if feed and feed["lag"] > 0:
            stamp = _record(ring, feed["tail"], "ts_recv_ns")
            oldest = stamp if oldest is None or (stamp is not None and stamp < oldest) else oldest
    lag = sum(v["lag_records"] for v in venues.values())
    return {
        "alive": bool(status and status["producer_alive"]) and (role is None or role.alive),
        "ticks": status["metrics"].get("ticks", 0) if status else 0,
        "lag_records": lag,
        "lag_s": 0.0 if lag == 0 else _age_s(oldest, now_ns),
        "tick_to_signal_p99_ms": _tick_to_signal_p99_ms(rings, now_ns),
    }


def _writer(rings: _Rings, shorts: list[str], venues: list[str], path: str | None, role) -> dict:
    stored = [short for short in dict.fromkeys([*shorts, *map(event_ring, venues)]) if stored_ring(short)]
    statuses = [status for short in stored for _, status in [rings.get(short)] if status]
    report, problem = read_report(path) if path else (None, None)
    return {
        "alive": any(s["consumer_alive"] for s in statuses) and (role is None or role.alive),
        "lag_records": sum(s["lag"] for s in statuses),
        **writer_fields(report),
        "report": path,
        "report_error": clean_text(problem),
    }


def _tick_to_signal_p99_ms(rings: _Rings, now_ns: int) -> float | None:
    """The worst venue's tick-to-signal p99 in the latest second the aggregator summarised (out.latency), if
    that second is recent; read from the ring's last records without consuming them."""
    ring, status = rings.get("out.latency")
    if not status or status["head"] == 0 or not {"second_ns", "stage", "count", "p99"} <= set(ring.dtype.names or ()):
        return None
    rows = _records(ring, max(0, status["head"] - min(LATENCY_ROWS, ring.capacity)), status["head"])
    if rows is None or not len(rows):
        return None
    rows = rows[(rows["stage"] == STAGE_TICK_TO_SIGNAL) & (rows["count"] > 0)]
    if not len(rows):
        return None
    latest = rows["second_ns"].max()
    if not 0 <= now_ns - int(latest) <= LATENCY_RECENT_S * 1e9 + 1e9:
        return None
    p99 = float(rows["p99"][rows["second_ns"] == latest].max())
    return round(p99 / 1e6, 3) if math.isfinite(p99) and p99 >= 0 else None


def _records(ring: Ring, start: int, end: int) -> np.ndarray | None:
    """Records ``[start, end)`` of a monitored ring, copied with ``pread``; those the producer may have
    overwritten meanwhile are left out. None if the file cannot be read."""
    from shm import plain

    out = np.zeros(end - start, ring.dtype)
    try:
        count = plain.pop(ring._fd, ring._header, start, out, ring.capacity)  # monitor: read-only, private cursor
    except OSError:
        return None
    overwritten = max(0, ring.head - ring.capacity - start)
    return out[min(overwritten, count) : count]


def _record(ring: Ring, position: int, field: str) -> int | None:
    if field not in (ring.dtype.names or ()):
        return None
    rows = _records(ring, position, position + 1)
    return int(rows[field][0]) if rows is not None and len(rows) else None


def _age_s(stamp_ns: int | None, now_ns: int) -> float | None:
    """Seconds since ``stamp_ns``; None for no stamp or one that cannot be (in the future beyond a second's
    clock skew, or before 2001)."""
    if stamp_ns is None or stamp_ns < 10**18 or stamp_ns > now_ns + 10**9:
        return None
    return round(max(0, now_ns - stamp_ns) / 1e9, 3)


def _ring_shorts(group: str) -> list[str]:
    """The short names of the group's rings (its symbol directory and latency histograms left out)."""
    prefix = ring_name(group, "")
    return [name[len(prefix):] for name in group_rings(group)]
