"""The aggregator process SIGKILLed mid-stream and restarted: each tick published exactly once."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from aggregator_helpers import MINUTE, feed_ticks, out_ticks_published, start_aggregator
from feed_helpers import read_all, wait_until
from shm.pipeline_records import STAMPED_TICK
from shm.records import TICK
from shm.ring import MONITOR, PRODUCER, Ring, ring_name


@pytest.mark.fault
def test_aggregator_killed_mid_stream_resumes_from_the_ring_tail(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = feed_ticks(group, "binance", 200_000, start, 7)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 18)
    ring.push_batch(ticks[:100_000])
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) > 20_000, 180, "aggregator progress")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        with Ring(ring_name(group, "binance"), MONITOR) as monitor:
            committed = monitor.tail
        first_run = read_all(group, "out.ticks", STAMPED_TICK)
        ring.push_batch(ticks[100_000:])
        process = start_aggregator(group)
        wait_until(lambda: Ring(ring_name(group, "binance"), MONITOR).tail == 200_000, 120, "restarted aggregator to drain")
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        ring.close()
    second_run = read_all(group, "out.ticks", STAMPED_TICK)
    # before the kill: everything up to the tail was published, and perhaps part of the next turn; the
    # restart goes on after the last tick published (source_pos), not at the tail: each tick exactly once
    assert second_run["seq"][0] >= committed
    np.testing.assert_array_equal(np.concatenate([first_run["seq"], second_run["seq"]]), np.arange(200_000))
    np.testing.assert_array_equal(second_run["source_pos"], second_run["seq"])


@pytest.mark.fault
def test_restart_skips_ticks_published_after_the_last_commit(group):
    """The crash window made certain: out.ticks already holds ticks 0..2,999 of the ring, whose tail is 0."""
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = feed_ticks(group, "binance", 10_000, start, 3)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 16)
    ring.push_batch(ticks)
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 20) as out:
        published = np.zeros(3000, STAMPED_TICK)
        for name in ("seq", "ts_exchange_ns", "exchange_id", "symbol_id"):
            published[name] = ticks[name][:3000]
        published["source_pos"] = np.arange(3000)
        published["ts_pop_ns"] = time.time_ns()
        older = published[:500].copy()
        older["ts_pop_ns"] = ring.created_ns - 1  # from an older ring of the same name: ignored
        older["source_pos"] += 9000
        assert out.push_batch(np.concatenate([older, published])) == 3500
    process = start_aggregator(group)
    try:
        wait_until(lambda: Ring(ring_name(group, "binance"), MONITOR).tail == 10_000, 180, "aggregator to drain")
        time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        ring.close()
    stored = read_all(group, "out.ticks", STAMPED_TICK)
    np.testing.assert_array_equal(stored["seq"][3500:], np.arange(3000, 10_000))
    assert "3000 ticks past the tail were published before a restart" in stderr
