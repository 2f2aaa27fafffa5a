"""The group snapshot over rings made in this process: counters, liveness, lags, the aggregator's p99, and rings
that cannot be read (named, never raised). Hostile writer status files: tests/unit/test_writer_report.py."""
from __future__ import annotations

import os
import time

import numpy as np

from shm import header as H
from shm import segment
from shm.pipeline_records import LATENCY, STAGE_POP_TO_SIGNAL, STAGE_TICK_TO_SIGNAL, STAMPED_TICK
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from tickagg.group_snapshot import read_group


def _feed(group: str, venue: str, count: int, age_s: float, **metrics) -> Ring:
    ring = Ring(ring_name(group, venue), PRODUCER, TICK, 64, numba=False)
    names = list(metrics)
    ring.metric_names = names
    ring.metrics[: len(names)] = list(metrics.values())
    records = np.zeros(count, TICK)
    records["ts_recv_ns"] = time.time_ns() - int(age_s * 1e9) + np.arange(count)
    ring.push_batch(records)
    return ring


def test_counters_lags_and_latency_of_a_group(group):
    binance = _feed(group, "binance", 5, 3.0, ticks=5, connected=1, gaps=2, reconnects=1, errors=4, err_json=3,
                    err_bad_price=1, **{"err_\x1b[2J": 9})
    okx = _feed(group, "okx", 0, 0, ticks=0, connected=0, connections=2)
    with Ring(ring_name(group, "binance"), CONSUMER, TICK, numba=False) as aggregator_input:
        out = np.zeros(2, TICK)
        aggregator_input.pop_batch(out)
        aggregator_input.commit()  # 3 of binance's 5 ticks still unread
    out_ticks = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 64, numba=False)
    out_ticks.metric_names = ["ticks"]
    out_ticks.metrics[0] = 2
    out_ticks.push_batch(np.zeros(2, STAMPED_TICK))
    latency = Ring(ring_name(group, "out.latency"), PRODUCER, LATENCY, 16, numba=False)
    second = time.time_ns() // 10**9 * 10**9 - 10**9
    rows = np.zeros(20, LATENCY)  # wraps the 16 slots: the first 4 are gone
    rows["second_ns"], rows["stage"], rows["count"], rows["p99"] = second - 10**9, STAGE_TICK_TO_SIGNAL, 1, 9e9
    rows[-3:]["second_ns"] = second
    rows[-3:]["p99"] = [2.5e6, 4e6, 1e6]
    rows[-2]["stage"] = STAGE_POP_TO_SIGNAL  # another stage: not this figure
    for chunk in np.array_split(rows, 4):
        latency.push_batch(chunk)
        with Ring(latency.name, CONSUMER, numba=False) as writer:
            writer.advance(writer.head)
    snapshot = read_group(group, exchanges=["kraken"])
    venues = snapshot["venues"]
    assert list(venues) == ["kraken", "binance", "okx"] and snapshot["rings"] == 4 and snapshot["unreadable"] == []
    assert venues["kraken"] == {**venues["kraken"], "alive": False, "connections": 0, "ticks": 0, "last_tick_age_s": None}
    b = venues["binance"]
    assert (b["alive"], b["connections"], b["ticks"], b["gaps"], b["reconnects"], b["errors"]) == (True, 1, 5, 2, 1, 4)
    assert b["errors_by_kind"] == {"json": 3, "bad_price": 1}  # a name that is not one is left out
    assert 2.9 < b["last_tick_age_s"] < 60 and b["lag_records"] == 3
    assert venues["okx"]["connections"] == 2  # the multi-connection counter wins over `connected`
    aggregator = snapshot["aggregator"]
    assert aggregator["alive"] and aggregator["ticks"] == 2 and aggregator["lag_records"] == 3
    assert 2.9 < aggregator["lag_s"] < 60
    assert aggregator["tick_to_signal_p99_ms"] == 2.5
    writer = snapshot["writer"]
    assert writer["lag_records"] == 2 and not writer["alive"] and writer["report"] is None
    for ring in (binance, okx, out_ticks, latency):
        ring.close()


def test_dead_roles_have_no_connections(group):
    _feed(group, "binance", 1, 0, connected=1).close()  # its producer is gone; its counter says connected

    class Role:
        name, alive = "aggregate", False

    snapshot = read_group(group, roles=[Role()])
    assert snapshot["venues"]["binance"]["alive"] is False and snapshot["venues"]["binance"]["connections"] == 0
    assert snapshot["aggregator"]["alive"] is False and snapshot["aggregator"]["lag_records"] == 1


def test_rings_that_cannot_be_read_are_named_and_the_others_shown(group):
    _feed(group, "okx", 2, 0, ticks=2).close()
    _feed(group, "binance", 1, 0, ticks=1).close()
    fd, memory = segment.open_segment(ring_name(group, "binance"))
    np.frombuffer(memory, np.int64, count=8)[H.W_MAGIC] = 0x41414141  # a damaged header
    del memory
    os.close(fd)
    with open(segment.path_of(ring_name(group, "out.ticks")), "wb") as f:
        f.write(b"not a ring")  # foreign, and too short to map
    os.chmod(segment.path_of(ring_name(group, "out.ticks")), 0o600)
    os.symlink("/etc/passwd", segment.path_of(ring_name(group, "out.latency")))
    snapshot = read_group(group)
    assert sorted(snapshot["unreadable"]) == ["binance", "out.latency", "out.ticks"]
    assert snapshot["venues"]["okx"]["ticks"] == 2 and snapshot["venues"]["binance"]["ticks"] == 0
    assert snapshot["aggregator"]["tick_to_signal_p99_ms"] is None


def test_an_empty_group(group):
    snapshot = read_group(group)
    assert snapshot["rings"] == 0 and snapshot["venues"] == {} and not snapshot["aggregator"]["alive"]
