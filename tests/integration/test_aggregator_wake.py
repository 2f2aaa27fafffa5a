"""The aggregator sleeps when idle (backing off to its longest sleep, then going quiet: longer slices, waits on the
input rings' doorbells that a push rings) and still takes every tick: a lone tick pushed after a long idle by a
plain (Numba-free) producer wakes it and comes out as a signal, a burst across the idle -> busy edge arrives
whole, once, and so does the next lone tick after the next idle, with garbage in the doorbell words. Where the
kernel refuses the doorbell wait (a seccomp filter standing in for Linux < 5.16), it naps, says so, loses nothing."""
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
from shm import header as H
from shm import segment
from shm.pipeline_records import SIGNAL, STAMPED_TICK
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from shm.records import TICK

SLEEPS = {  # options, whether it goes quiet, whether the kernel refuses futex_waitv
    "default": ([], True, False),  # 500 us doubling to 1 ms; quiet: doorbell waits
    "long sleeps": (["--min-sleep-us", "50000", "--idle-sleep-us", "200000"], False, False),  # never quiet
    "no futex_waitv": ([], True, True),  # quiet: naps to 5 ms
}
ENOSYS = 38
REFUSE_FUTEX_WAITV = """
import ctypes, runpy, struct, sys
libc, word = ctypes.CDLL(None, use_errno=True), ctypes.c_ulong
program = b"".join(struct.pack("HBBI", *op) for op in (
    (0x20, 0, 0, 0),  # A = the syscall number
    (0x15, 0, 1, 449),  # futex_waitv?
    (0x06, 0, 0, 0x00050000 | 38),  # refused: ENOSYS
    (0x06, 0, 0, 0x7FFF0000)))  # anything else: allowed
filters = ctypes.create_string_buffer(program, len(program))
fprog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", 4, ctypes.addressof(filters)), 16)
assert libc.prctl(38, word(1), word(0), word(0), word(0)) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, word(2), word(ctypes.addressof(fprog)), word(0), word(0)) == 0  # PR_SET_SECCOMP, FILTER
sys.argv = ["tickagg", *sys.argv[1:]]
runpy.run_module("tickagg.cli", run_name="__main__")
"""


def _status(group: str) -> dict:
    name = ring_name(group, "out.ticks")
    if not segment.exists(name):
        return {}
    with Ring(name, MONITOR) as ring:
        return ring.status()["metrics"]


def _idle_for(group: str, quiet: bool) -> None:
    """Wait until the aggregator has had a whole window with nothing to read and has run two more time slices
    since (``quiet``: a whole quiet one since, the deepest sleep, a long slice; the next is quiet too)."""
    first, since = _status(group), time.monotonic()
    wait_until(lambda: time.monotonic() - since > QUIET_WINDOW_S
               and _status(group).get("slices", 0) >= first.get("slices", 0) + (1 if quiet else 2), 120, "an idle window")
    if quiet:
        wait_until(lambda: _status(group).get("quiet_slices", 0) >= first.get("quiet_slices", 0) + 1, 120,
                   "a quiet slice")


def _lone_ticks(group: str, ring: Ring, ticks: np.ndarray, bell: bool) -> int:
    """Push ``ticks`` one at a time with the feeds' plain ``bytes_pusher``, each popped before the next, until one
    was popped on a doorbell wake (``bell``: each pushed while the aggregator waits on the doorbell; a push may
    race the wait's timeout, so a few tries are allowed; else one tick); return how many were pushed."""
    push, first = ring.bytes_pusher(), _status(group)
    for n in range(1, len(ticks) + 1):
        if bell:
            wait_until(lambda: ring.consumer_asleep, 60, "the aggregator waiting on the doorbell")
        assert push(memoryview(ticks[n - 1:n].tobytes()), 1) == 1
        wait_until(lambda: _status(group).get("ticks") == first["ticks"] + n, 60, "the lone tick after the idle")
        if not bell or _status(group)["bell_wakes"] > first["bell_wakes"]:
            return n
    raise AssertionError(f"{len(ticks)} ticks pushed while the aggregator waited on the doorbell: none woke it")


@pytest.mark.parametrize("sleeps", list(SLEEPS), ids=list(SLEEPS))
def test_ticks_after_a_long_idle_and_across_the_idle_busy_edge_all_come_out_once(group, sleeps):
    options, quiet, refused = SLEEPS[sleeps]
    bell = quiet and not refused
    ticks = feed_ticks(group, "binance", 3020, time.time_ns() - 3 * 60_000_000_000, 7)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 14, numba=False)
    launch = ["-c", REFUSE_FUTEX_WAITV] if refused else ["-m", "tickagg.cli"]
    process = subprocess.Popen([sys.executable, *launch, "aggregate", "--group", group, "--max-symbols", "64",
                                *options], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _status(group).get("input_rings") == 1, 300, "the aggregator reading the ring")
        _idle_for(group, quiet)  # a second with nothing: backed off to its longest sleep
        pushed = _lone_ticks(group, ring, ticks[:10], bell)
        _idle_for(group, quiet)
        burst = ticks[pushed:3000]
        for start in range(0, len(burst), 100):  # idle -> busy: a burst of pushes, none waiting for the aggregator
            assert ring.push_batch(burst[start:start + 100]) == len(burst[start:start + 100])
        wait_until(lambda: _status(group).get("ticks") == 3000, 60, "every tick of the burst")
        words = np.memmap(segment.path_of(ring.name), np.int64, "r+", shape=(H.HEADER_BYTES // 8,))
        words[H.W_BELL] = (1 << 63) - 1  # garbage in the doorbell: masked by both sides
        del words
        _idle_for(group, quiet)  # busy -> idle
        pushed = 3000 + _lone_ticks(group, ring, ticks[3000:], bell)
        status = _status(group)
    finally:
        ring.close()
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert (status["quiet_slices"] > 0) == quiet  # quiet only when deep_sleep_us is deeper than idle_sleep_us
    assert (status["bell_wakes"] > 0) == bell and (status["bell_timeouts"] > 0) == bell  # doorbell waits: quiet only
    assert status["bell_errno"] == (ENOSYS if refused else 0)
    assert ("refused the doorbell wait" in log) == refused, log
    ticks = ticks[:pushed]
    stamped = read_all(group, "out.ticks", STAMPED_TICK)
    np.testing.assert_array_equal(stamped["seq"], ticks["seq"])  # every tick, once, in order
    assert (stamped["ts_pop_ns"] >= stamped["ts_recv_ns"]).all()
    signals = read_all(group, "signals", SIGNAL)
    assert len(signals) == len(ticks) and np.isfinite(signals["ema_fast"]).all()
