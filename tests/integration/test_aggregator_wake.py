"""The aggregator sleeps when idle (backing off to its longest sleep, then going quiet: longer slices, deeper naps)
and still takes every tick: a tick pushed after a long idle comes out as a signal, and a burst across the
idle -> busy edge arrives whole, once."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from aggregator.pace import QUIET_WINDOW_S
from aggregator_helpers import feed_ticks
from feed_helpers import read_all, wait_until
from shm import segment
from shm.pipeline_records import SIGNAL, STAMPED_TICK
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from shm.records import TICK

SLEEPS = {  # options, whether it goes quiet
    "default": ([], True),  # 100 us doubling to 1 ms; quiet: to 5 ms
    "long sleeps": (["--min-sleep-us", "50000", "--idle-sleep-us", "200000"], False),  # deeper than deep: never quiet
}


def _status(group: str) -> dict:
    name = ring_name(group, "out.ticks")
    if not segment.exists(name):
        return {}
    with Ring(name, MONITOR) as ring:
        return ring.status()["metrics"]


def _idle_for(group: str, quiet: bool) -> None:
    """Wait until the aggregator has had a whole window with nothing to read and has run two more time slices
    since (``quiet``: two quiet ones, the deepest sleep, each a long slice)."""
    first, since = _status(group), time.monotonic()
    wait_until(lambda: time.monotonic() - since > QUIET_WINDOW_S
               and _status(group).get("slices", 0) >= first.get("slices", 0) + 2, 120, "an idle window")
    if quiet:
        wait_until(lambda: _status(group).get("quiet_slices", 0) >= first.get("quiet_slices", 0) + 2, 120,
                   "two quiet slices")


@pytest.mark.parametrize("sleeps", list(SLEEPS), ids=list(SLEEPS))
def test_ticks_after_a_long_idle_and_across_the_idle_busy_edge_all_come_out_once(group, sleeps):
    options, quiet = SLEEPS[sleeps]
    ticks = feed_ticks(group, "binance", 3001, time.time_ns() - 3 * 60_000_000_000, 7)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 14)
    process = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "aggregate", "--group", group,
                                "--max-symbols", "64", *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _status(group).get("input_rings") == 1, 300, "the aggregator reading the ring")
        _idle_for(group, quiet)  # a second with nothing: backed off to its longest sleep
        assert ring.push_batch(ticks[:1]) == 1
        wait_until(lambda: _status(group).get("ticks") == 1, 60, "the lone tick after the idle second")
        _idle_for(group, quiet)
        for start in range(1, len(ticks), 100):  # idle -> busy: a burst of pushes, none waiting for the aggregator
            assert ring.push_batch(ticks[start:start + 100]) == len(ticks[start:start + 100])
        wait_until(lambda: _status(group).get("ticks") == len(ticks), 60, "every tick of the burst")
        status = _status(group)
    finally:
        ring.close()
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert (status["quiet_slices"] > 0) == quiet  # quiet only when deep_sleep_us is deeper than idle_sleep_us
    stamped = read_all(group, "out.ticks", STAMPED_TICK)
    np.testing.assert_array_equal(stamped["seq"], ticks["seq"])  # every tick, once, in order
    assert (stamped["ts_pop_ns"] >= stamped["ts_recv_ns"]).all()
    signals = read_all(group, "signals", SIGNAL)
    assert len(signals) == len(ticks) and np.isfinite(signals["ema_fast"]).all()
