"""Damaged ring headers and files under a real producer and consumer (separate processes): nothing read that was
never written, nothing twice, no crash, the damage named and counted, and a restart that recovers."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import header_workers as hw
import ring_workers as w
from feed_helpers import wait_until
from shm import header as H
from shm import segment
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, RingDamagedError, ring_name
from tickagg.run_status import GroupStatus

CAPACITY = 4096
TOTAL = 300_000
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_pair(spawn, name: str, log: str, numba: bool = True):
    Ring(name, PRODUCER, TICK, CAPACITY).close()
    consumer = spawn(w.consume, name, TOTAL - 1, log, 128, 0.0, numba)
    producer = spawn(w.produce, name, 0, TOTAL, 64, True, 0.0002)
    return producer, consumer


def finish(producer, consumer) -> None:
    producer.join(180)
    consumer.join(180)
    assert (producer.exitcode, consumer.exitcode) == (0, 0)  # no SIGSEGV, no SIGBUS, no error


@pytest.mark.parametrize("numba", [True, False], ids=["kernels", "plain"])
def test_head_moved_by_ten_million_is_skipped_not_read(group, spawn, tmp_path, numba):
    name, log = ring_name(group, "binance"), str(tmp_path / "handled")
    producer, consumer = start_pair(spawn, name, log, numba)
    with Ring(name) as ring:
        wait_until(lambda: ring.tail > 20_000, 60, "consumer progress", poll_s=0.005)
        for _ in range(100):  # a write racing the producer's own store of head is lost: write until it lands
            hw.write_word(name, H.W_HEAD, ring.head + 10**7)
            if wait_until(lambda: ring.status()["skipped"] or ring.head > 10**7, 1, "the bump", poll_s=0.001):
                break
        finish(producer, consumer)
        status = ring.status()
    seqs = w.read_log(log)
    assert np.all(np.diff(seqs) > 0)  # nothing twice, no stale slot read as a record (it would repeat a seq)
    assert seqs[0] == 0 and seqs[-1] == TOTAL - 1
    assert TOTAL - len(seqs) <= CAPACITY  # at most what was in the ring when the head jumped
    # skipped: the positions from the consumer's to the bumped head (the pair may have moved on by a few batches
    # between our read of the head and our write of it + 10^7)
    assert status["consumer_resyncs"] >= 1 and 10**7 - CAPACITY < status["skipped"] <= 10**7 + CAPACITY
    assert status["problem"] is None and status["head"] == status["tail"]


def test_capacity_word_of_two_to_the_forty_changes_nothing_for_the_running_pair(group, spawn, tmp_path):
    name, log = ring_name(group, "binance"), str(tmp_path / "handled")
    producer, consumer = start_pair(spawn, name, log)
    with Ring(name) as ring:
        wait_until(lambda: ring.tail > 20_000, 60, "consumer progress", poll_s=0.005)
        hw.write_word(name, H.W_CAPACITY, 1 << 40)
        problem = ring.status()["problem"]
        finish(producer, consumer)
    np.testing.assert_array_equal(w.read_log(log), np.arange(TOTAL))
    assert "capacity 1099511627776 (was 4096)" in problem
    with pytest.raises(RingDamagedError, match=rf"{segment.path_of(name)} has an impossible capacity word"):
        Ring(name, CONSUMER, TICK)
    Ring(name, PRODUCER, TICK, CAPACITY).close()  # nobody holds it: its producer's restart replaces it
    with Ring(name, CONSUMER, TICK) as fresh:
        assert (fresh.capacity, fresh.head) == (CAPACITY, 0)


def test_four_bytes_over_the_magic_show_as_damaged_and_nothing_dies(group, spawn, tmp_path):
    name, log = ring_name(group, "binance"), str(tmp_path / "handled")
    Ring(ring_name(group, "okx"), PRODUCER, TICK, 64).close()  # a sound neighbour
    producer, consumer = start_pair(spawn, name, log)
    with Ring(name) as ring:
        wait_until(lambda: ring.tail > 20_000, 60, "consumer progress", poll_s=0.005)
    hw.write_word(name, H.W_MAGIC, 0x41414141, low_bytes=4)
    status = GroupStatus(group, ["binance", "okx"], None).line()
    listing = subprocess.run([sys.executable, "-m", "tickagg", "rings", group], cwd=REPO, capture_output=True,
                             text=True, timeout=120)
    finish(producer, consumer)
    np.testing.assert_array_equal(w.read_log(log), np.arange(TOTAL))
    assert "damaged or refused rings: binance" in status
    assert listing.returncode == 0, listing.stderr
    assert f"damaged: {segment.path_of(name)} has a bad magic word" in listing.stdout
    assert ring_name(group, "okx") in listing.stdout and "Traceback" not in listing.stderr


@pytest.mark.parametrize("numba", [True, False], ids=["kernels", "plain"])
def test_a_ring_truncated_under_its_pair_stops_both_with_the_reason_and_a_restart_recovers(group, spawn, tmp_path, numba):
    name = ring_name(group, "binance")
    Ring(name, PRODUCER, TICK, CAPACITY).close()
    errors = {role: str(tmp_path / f"{role}.error") for role in ("producer", "consumer")}
    consumer = spawn(hw.consume_until_damaged, name, str(tmp_path / "handled"), numba, errors["consumer"])
    producer = spawn(hw.produce_until_damaged, name, 8, 0.01, errors["producer"])
    with Ring(name) as ring:
        wait_until(lambda: ring.tail > 50, 60, "consumer progress", poll_s=0.005)
        assert ring.head < CAPACITY // 4  # slow enough that the next second's slots are inside the kept half
    os.truncate(segment.path_of(name), H.HEADER_BYTES + CAPACITY // 2 * TICK.itemsize)
    producer.join(30)
    consumer.join(30)
    assert (producer.exitcode, consumer.exitcode) == (hw.DAMAGED_EXIT, hw.DAMAGED_EXIT)  # not SIGBUS: the reason
    for path in errors.values():
        with open(path) as f:
            message = f.read()
        assert segment.path_of(name) in message and "truncated" in message
    # the restarted producer replaces the file (nobody holds it now); a new pair runs on it from the start
    log = str(tmp_path / "after")
    fresh_consumer_ready = Ring(name, PRODUCER, TICK, CAPACITY)
    assert fresh_consumer_ready.head == 0 and os.path.getsize(segment.path_of(name)) == H.HEADER_BYTES + CAPACITY * 64
    fresh_consumer_ready.close()
    consumer = spawn(w.consume, name, 9_999, log, 128, 0.0, numba)
    producer = spawn(w.produce, name, 0, 10_000, 64, True)
    finish(producer, consumer)
    np.testing.assert_array_equal(w.read_log(log), np.arange(10_000))
