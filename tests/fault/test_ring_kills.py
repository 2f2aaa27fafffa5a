"""The ring between real processes when either side is SIGKILLed: no record lost, none twice."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import ring_workers as w
from feed_helpers import wait_until
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name


@pytest.mark.fault
def test_consumer_killed_mid_stream_resumes_at_committed_tail(group, spawn, tmp_path):
    name = ring_name(group, "killc")
    total = 400_000
    Ring(name, PRODUCER, TICK, 4096).close()
    first_log, second_log = str(tmp_path / "first"), str(tmp_path / "second")
    consumer = spawn(w.consume, name, total - 1, first_log, 128, 0.0005)
    producer = spawn(w.produce, name, 0, total, 100, True, 0.0001)
    with Ring(name) as ring:
        wait_until(lambda: ring.tail > 20_000, 60, "first consumer progress", poll_s=0.005)
        os.kill(consumer.pid, signal.SIGKILL)
        consumer.join(10)
        committed = ring.tail
        assert not ring.status()["consumer_alive"]
    restarted = spawn(w.consume, name, total - 1, second_log, 128)
    producer.join(120)
    restarted.join(120)
    assert producer.exitcode == 0 and restarted.exitcode == 0
    before, after = w.read_log(first_log), w.read_log(second_log)
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
        wait_until(lambda: ring.head > 10_000, 60, "producer progress", poll_s=0.005)
        assert ring.status()["producer_alive"]
        os.kill(producer.pid, signal.SIGKILL)
        producer.join(10)
        assert not ring.status()["producer_alive"]
        pushed = ring.head
        more = 50_000
        restarted = spawn(w.produce, name, pushed, more, 32, True)
        restarted.join(60)
        assert restarted.exitcode == 0
        wait_until(lambda: ring.tail == pushed + more, 60, "consumer to drain", poll_s=0.005)
    consumer.kill()
    np.testing.assert_array_equal(w.read_log(log), np.arange(pushed + more))


@pytest.mark.fault
@pytest.mark.parametrize("numba", [True, False], ids=["kernels", "plain"])
def test_a_producer_killed_mid_batch_publishes_nothing_half_written(group, spawn, numba):
    name = ring_name(group, "killb")
    capacity, batch = 1 << 20, 4096  # 256 KiB a batch: most of the producer's time is spent copying one
    Ring(name, PRODUCER, TICK, capacity).close()
    with Ring(name) as ring:
        for kill in range(1, 4):
            producer = spawn(w.produce_whole, name, batch, numba)
            before = ring.head
            wait_until(lambda: ring.head >= before + 20 * batch, 120, "producer progress", poll_s=0.001)
            os.kill(producer.pid, signal.SIGKILL)
            producer.join(10)
            assert producer.exitcode == -signal.SIGKILL
    with Ring(name, CONSUMER, TICK) as ring:
        head = ring.head
        assert head % batch == 0 and 0 < head <= capacity  # whole batches only
        out = np.zeros(head, TICK)
        assert ring.pop_batch(out) == head
    assert out.tobytes() == w.whole_records(0, head).tobytes()  # every published record whole
