"""The ring between real processes: streams, drops (SIGKILL of either side: tests/fault/test_ring_kills.py)."""
from __future__ import annotations

import numpy as np
import pytest

import ring_workers as w
from feed_helpers import wait_until
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name


@pytest.mark.slow
@pytest.mark.parametrize("producer_numba, numba", [(True, True), (True, False), (False, True)],
                         ids=["kernels", "plain-consumer", "plain-producer"])
def test_millions_through_a_small_ring_arrive_once_in_order(group, spawn, tmp_path, producer_numba, numba):
    name = ring_name(group, "stream")
    total, capacity = 2_000_000, 1024  # wraps ~2,000 times
    Ring(name, PRODUCER, TICK, capacity).close()
    log = str(tmp_path / "handled")
    consumer = spawn(w.consume, name, total - 1, log, 300, 0.0, numba)
    producer = spawn(w.produce, name, 0, total, 97, True, 0.0, None, producer_numba)
    producer.join(240)
    consumer.join(240)
    assert producer.exitcode == 0 and consumer.exitcode == 0
    seqs = w.read_log(log)
    np.testing.assert_array_equal(seqs, np.arange(total))
    with Ring(name) as ring:
        assert ring.head == ring.tail == total


def test_a_plain_producer_writes_what_a_numba_consumer_reads_byte_for_byte(group, spawn):
    name = ring_name(group, "bytes")
    total, capacity = 300_000, 256  # batches of 100 straddle the ring's end again and again
    Ring(name, PRODUCER, TICK, capacity).close()
    producer = spawn(w.produce_whole, name, 100, False)
    received = []
    with Ring(name, CONSUMER, TICK) as ring:  # the Numba kernels
        out = np.zeros(capacity, TICK)
        count = 0
        while count < total:
            got = ring.pop_batch(out, spin_us=1000)
            received.append(out[:got].copy())
            ring.commit()
            count += got
            assert producer.is_alive() or producer.exitcode is None, producer.exitcode
    producer.kill()
    assert np.concatenate(received).tobytes() == w.whole_records(0, count).tobytes()


@pytest.mark.parametrize("numba", [True, False], ids=["kernels", "plain"])
def test_full_ring_drops_exactly_what_does_not_fit(group, spawn, tmp_path, numba):
    name = ring_name(group, "full")
    Ring(name, PRODUCER, TICK, 1024).close()
    producer = spawn(w.produce, name, 0, 10_000, 64, False, 0.0, None, numba)
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
    accepted = w.read_log(accepted_log)
    with Ring(name) as ring:
        wait_until(lambda: ring.tail == ring.head, 60, "consumer to drain", poll_s=0.005)
        assert ring.dropped == total - len(accepted) > 0
    consumer.kill()  # it waits for a last seq that may have been dropped
    handled = w.read_log(handled_log)
    np.testing.assert_array_equal(handled, accepted)
