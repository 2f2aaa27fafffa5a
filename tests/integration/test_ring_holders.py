"""Attaching to rings that another real process holds or made: taken roles, lifetimes."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import ring_workers as w
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, RingBusyError, RingLayoutError, ring_name

OTHER = np.dtype([("ts", "<i8"), ("price", "<f8"), ("qty", "<f8"), ("pad", "<u8")])


def test_second_live_consumer_is_refused_and_a_dead_ones_place_is_taken(group, spawn):
    name = ring_name(group, "c")
    Ring(name, PRODUCER, TICK, 64).close()
    holder = spawn(w.hold, name, CONSUMER, 60)
    with Ring(name) as monitor:
        deadline = time.monotonic() + 30
        while not monitor.status()["consumer_alive"] and time.monotonic() < deadline:
            time.sleep(0.01)
    with pytest.raises(RingBusyError, match=f"live consumer \\(pid {holder.pid}\\)"):
        Ring(name, CONSUMER, TICK)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    with Ring(name, CONSUMER, TICK) as ring:
        assert ring.status()["consumer_pid"] == os.getpid()


def test_ring_outlives_the_process_that_created_it(group, spawn):
    name = ring_name(group, "life")
    child = spawn(w.create_and_exit, name, 128)
    child.join(60)
    assert child.exitcode == 0
    time.sleep(0.2)  # a resource_tracker would unlink about now
    with Ring(name) as ring:
        assert ring.capacity == 128


def test_a_ring_of_another_layout_held_by_a_live_process_is_kept(group, spawn):
    name = ring_name(group, "held")
    Ring(name, PRODUCER, OTHER, 64).close()
    holder = spawn(w.hold, name, CONSUMER, 60, True)
    with Ring(name) as monitor:
        deadline = time.monotonic() + 30
        while not monitor.status()["consumer_alive"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert monitor.status()["consumer_alive"]
    with pytest.raises(RingLayoutError, match="a live process still uses it"):
        Ring(name, PRODUCER, TICK, 64)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    with Ring(name, PRODUCER, TICK, 64) as ring:  # its consumer died: now it is replaced
        assert ring.dtype == TICK
