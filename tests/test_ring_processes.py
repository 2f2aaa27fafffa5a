"""The ring between real processes: streams, drops, SIGKILL of either side."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import ring_workers as w
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name


def _read_log(path) -> np.ndarray:
    return np.fromfile(path, dtype=np.int64) if os.path.exists(path) else np.zeros(0, np.int64)


def _wait_until(predicate, timeout_s: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.mark.slow
@pytest.mark.parametrize("numba", [True, False], ids=["kernels", "plain"])
def test_millions_through_a_small_ring_arrive_once_in_order(group, spawn, tmp_path, numba):
    name = ring_name(group, "stream")
    total, capacity = 2_000_000, 1024  # wraps ~2,000 times
    Ring(name, PRODUCER, TICK, capacity).close()
    log = str(tmp_path / "handled")
    consumer = spawn(w.consume, name, total - 1, log, 300, 0.0, numba)
    producer = spawn(w.produce, name, 0, total, 97, True)
    producer.join(240)
    consumer.join(240)
    assert producer.exitcode == 0 and consumer.exitcode == 0
    seqs = _read_log(log)
    np.testing.assert_array_equal(seqs, np.arange(total))
    with Ring(name) as ring:
        assert ring.head == ring.tail == total


def test_full_ring_drops_exactly_what_does_not_fit(group, spawn, tmp_path):
    name = ring_name(group, "full")
    Ring(name, PRODUCER, TICK, 1024).close()
    producer = spawn(w.produce, name, 0, 10_000, 64, False)
    producer.join(60)
    assert producer.exitcode == 0
    with Ring(name, CONSUMER, TICK) as ring:
        assert ring.dropped == 10_000 - 1024
        out = np.zeros(4096, dtype=TICK)
        count = ring.pop_batch(out)
        assert count == 1024
        np.testing.assert_array_equal(out["seq"][:count], np.arange(1024))


@pytest.mark.slow
def test_slow_consumer_gets_every_accepted_record_and_drops_are_counted(group, spawn, tmp_path):
    name = ring_name(group, "slow")
    total = 200_000
    Ring(name, PRODUCER, TICK, 256).close()
    accepted_log, handled_log = str(tmp_path / "accepted"), str(tmp_path / "handled")
    consumer = spawn(w.consume, name, total - 1, handled_log, 64, 0.0002)
    producer = spawn(w.produce, name, 0, total, 50, False, 0.00001, accepted_log)
    producer.join(120)
    assert producer.exitcode == 0
    accepted = _read_log(accepted_log)
    with Ring(name) as ring:
        _wait_until(lambda: ring.tail == ring.head, what="consumer to drain")
        assert ring.dropped == total - len(accepted) > 0
    consumer.kill()  # it waits for a last seq that may have been dropped
    handled = _read_log(handled_log)
    np.testing.assert_array_equal(handled, accepted)


@pytest.mark.fault
def test_consumer_killed_mid_stream_resumes_at_committed_tail(group, spawn, tmp_path):
    name = ring_name(group, "killc")
    total = 400_000
    Ring(name, PRODUCER, TICK, 4096).close()
    first_log, second_log = str(tmp_path / "first"), str(tmp_path / "second")
    consumer = spawn(w.consume, name, total - 1, first_log, 128, 0.0005)
    producer = spawn(w.produce, name, 0, total, 100, True, 0.0001)
    with Ring(name) as ring:
        _wait_until(lambda: ring.tail > 20_000, what="first consumer progress")
        os.kill(consumer.pid, signal.SIGKILL)
        consumer.join(10)
        committed = ring.tail
        assert not ring.status()["consumer_alive"]
    restarted = spawn(w.consume, name, total - 1, second_log, 128)
    producer.join(120)
    restarted.join(120)
    assert producer.exitcode == 0 and restarted.exitcode == 0
    before, after = _read_log(first_log), _read_log(second_log)
    assert after[0] == committed  # resumed exactly at the committed tail
    delivered = np.concatenate([before[before < committed], after])
    np.testing.assert_array_equal(delivered, np.arange(total))


@pytest.mark.fault
def test_producer_killed_and_restarted_reattaches_without_gap(group, spawn, tmp_path):
    name = ring_name(group, "killp")
    Ring(name, PRODUCER, TICK, 4096).close()
    log = str(tmp_path / "handled")
    consumer = spawn(w.consume, name, 10**12, log, 256)
    producer = spawn(w.produce, name, 0, 10**9, 32, True, 0.0002)
    with Ring(name) as ring:
        _wait_until(lambda: ring.head > 10_000, what="producer progress")
        assert ring.status()["producer_alive"]
        os.kill(producer.pid, signal.SIGKILL)
        producer.join(10)
        assert not ring.status()["producer_alive"]
        pushed = ring.head
        more = 50_000
        restarted = spawn(w.produce, name, pushed, more, 32, True)
        restarted.join(60)
        assert restarted.exitcode == 0
        _wait_until(lambda: ring.tail == pushed + more, what="consumer to drain")
    consumer.kill()
    np.testing.assert_array_equal(_read_log(log), np.arange(pushed + more))
