"""A real aggregator gives back out.ticks' pages behind its consumer's tail and keeps its restart window."""
from __future__ import annotations

import os
import signal
import time

import numpy as np

from aggregator.main import RESTART_WINDOW
from aggregator_helpers import feed_ticks, out_ticks_published, start_aggregator
from feed_helpers import wait_until
from shm import segment
from shm.pipeline_records import STAMPED_TICK
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name

TICKS = RESTART_WINDOW + 60_000


def _resident_bytes(group: str, short: str) -> int:
    return os.stat(segment.path_of(ring_name(group, short))).st_blocks * 512


def test_out_ticks_pages_go_back_once_consumed_and_the_restart_window_stays(group):
    start = (time.time_ns() // 60_000_000_000 - 5) * 60_000_000_000
    ticks = feed_ticks(group, "binance", TICKS, start, 1)
    with Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 18) as ring:
        assert ring.push_batch(ticks) == TICKS
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) >= TICKS, 180, "every tick through the aggregator")
        full = _resident_bytes(group, "out.ticks")
        assert full >= TICKS * STAMPED_TICK.itemsize  # nothing given back while nobody consumed
        consumed = np.zeros(TICKS, STAMPED_TICK)
        with Ring(ring_name(group, "out.ticks"), CONSUMER, STAMPED_TICK) as out:
            assert out.pop_batch(consumed) == TICKS
            out.commit()
        dead_bytes = (TICKS - RESTART_WINDOW) * STAMPED_TICK.itemsize
        wait_until(lambda: full - _resident_bytes(group, "out.ticks") >= dead_bytes - 2 * 4096, 10,
                   "the consumed pages given back")
        time.sleep(0.3)  # a few more release rounds: still the window
        assert full - _resident_bytes(group, "out.ticks") <= dead_bytes
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    with Ring(ring_name(group, "out.ticks"), CONSUMER, STAMPED_TICK) as out:  # the window, as a restart reads it
        data, _ = out.kernel_arrays()
        window = data[np.arange(TICKS - RESTART_WINDOW, TICKS) & (out.capacity - 1)]
        np.testing.assert_array_equal(window, consumed[TICKS - RESTART_WINDOW :])
        punched = data[np.arange(0, TICKS - RESTART_WINDOW - 64) & (out.capacity - 1)]
        assert not punched.view(np.uint8).any()  # given back: a hole reads as zeros
