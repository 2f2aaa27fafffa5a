"""Never trust a header: validation of a ring's words against its file, and the kernels' per-batch resync."""
from __future__ import annotations

import os

import numpy as np
import pytest

from shm import header as H
from shm import ring_check, segment
from shm.records import TICK
from shm.ring import CONSUMER, MONITOR, PRODUCER, Ring, RingDamagedError, ring_name

CAPACITY = 64
SIZE = H.HEADER_BYTES + CAPACITY * TICK.itemsize


def good_words() -> np.ndarray:
    words = np.zeros(H.HEADER_BYTES // 8, np.int64)
    words[H.W_MAGIC], words[H.W_VERSION] = H.MAGIC, H.VERSION
    words[H.W_RECORD_SIZE], words[H.W_CAPACITY] = TICK.itemsize, CAPACITY
    words[H.W_HEAD], words[H.W_TAIL] = 100, 90
    return words


def test_a_sound_header_passes():
    assert ring_check.header_problem(good_words(), SIZE, TICK.itemsize) is None
    assert ring_check.positions_problem(good_words(), CAPACITY) is None


@pytest.mark.parametrize("word, value, size, expected", [
    (H.W_MAGIC, H.MAGIC ^ 0xFFFFFFFF, SIZE, "bad magic"),
    (H.W_RECORD_SIZE, 12, SIZE, "impossible record size word 12"),
    (H.W_RECORD_SIZE, 128, SIZE, "record size word 128, its records are 64 bytes"),
    (H.W_CAPACITY, 1 << 40, SIZE, f"impossible capacity word {1 << 40}"),
    (H.W_CAPACITY, 1000, SIZE, "impossible capacity word 1000"),
    (H.W_CAPACITY, 128, SIZE, f"is {SIZE} bytes, its header implies {H.HEADER_BYTES + 128 * 64}"),
    (None, None, SIZE // 2, f"is {SIZE // 2} bytes, its header implies {SIZE}"),
    (None, None, 100, "is 100 bytes, shorter than the 4096-byte ring header"),
])
def test_each_bad_word_is_named(word, value, size, expected):
    words = good_words()
    if word is not None:
        words[word] = value
    assert expected in ring_check.header_problem(words, size, TICK.itemsize)


@pytest.mark.parametrize("head, tail", [(10**7, 90), (80, 90), (-5, -10), (90 + CAPACITY + 1, 90)])
def test_impossible_positions_are_named(head, tail):
    words = good_words()
    words[H.W_HEAD], words[H.W_TAIL] = head, tail
    assert f"tail {tail}, head {head}" in ring_check.positions_problem(words, CAPACITY)


def corrupt(name: str, word: int, value: int) -> None:
    fd, memory = segment.open_segment(name)
    words = np.frombuffer(memory, np.int64, count=H.HEADER_BYTES // 8)
    words[word] = value
    del words
    memory.close()
    os.close(fd)


def truncate(name: str, size: int) -> None:
    os.truncate(segment.path_of(name), size)


def test_a_damaged_ring_is_refused_naming_the_file_and_the_word(group):
    name = ring_name(group, "cap")
    Ring(name, PRODUCER, TICK, CAPACITY).close()
    corrupt(name, H.W_CAPACITY, 1 << 40)
    for role in (CONSUMER, MONITOR):
        with pytest.raises(RingDamagedError, match=rf"{segment.path_of(name)} has an impossible capacity word"):
            Ring(name, role, TICK if role == CONSUMER else None)


@pytest.mark.parametrize("damage", ["magic", "capacity", "half", "empty", "short"])
def test_a_damaged_ring_no_process_holds_is_replaced_by_its_producer(group, damage, caplog):
    name = ring_name(group, "dmg")
    with Ring(name, PRODUCER, TICK, CAPACITY) as ring:
        ring.push_batch(np.ones(5, TICK))
    if damage == "magic":
        corrupt(name, H.W_MAGIC, 0x41414141)
    elif damage == "capacity":
        corrupt(name, H.W_CAPACITY, 1 << 40)
    else:
        truncate(name, {"half": SIZE // 2, "empty": 0, "short": 100}[damage])
    with Ring(name, PRODUCER, TICK, CAPACITY) as ring:
        assert (ring.capacity, ring.head, ring.tail) == (CAPACITY, 0, 0)
        assert os.path.getsize(segment.path_of(name)) == SIZE
    assert "replaced a damaged" in caplog.text
    Ring(name, PRODUCER, TICK).close()  # the role was given up on close, though caplog keeps the replacement's record


def test_a_damaged_ring_a_live_process_holds_is_kept_and_the_holder_named(group):
    name = ring_name(group, "held")
    with Ring(name, PRODUCER, TICK, CAPACITY), Ring(name, CONSUMER, TICK) as consumer:
        corrupt(name, H.W_MAGIC, 0)
        with pytest.raises(RingDamagedError, match=rf"bad magic.*live producer \(pid {os.getpid()}\) and consumer"):
            Ring(name, PRODUCER, TICK, CAPACITY)
        assert consumer.check() is None  # the running pair goes on: the words it uses were checked at attach


@pytest.mark.parametrize("producer_numba", [True, False], ids=["kernel-producer", "plain-producer"])
@pytest.mark.parametrize("numba", [True, False])
def test_a_head_moved_out_of_reach_is_skipped_never_read(group, producer_numba, numba, caplog):
    name = ring_name(group, "head")
    records = np.zeros(10, TICK)
    records["seq"] = np.arange(1, 11)
    out = np.zeros(CAPACITY, TICK)
    with (Ring(name, PRODUCER, TICK, CAPACITY, numba=producer_numba) as producer,
          Ring(name, CONSUMER, TICK, numba=numba) as consumer):
        producer.push_batch(records)
        assert consumer.pop_batch(out) == 10
        consumer.commit()
        producer.push_batch(records)
        corrupt(name, H.W_HEAD, producer.head + 10**7)
        assert consumer.pop_batch(out) == 0  # nothing read from slots the producer never wrote
        assert producer.push_batch(records) == 10  # the consumer's resync freed the ring
        assert consumer.pop_batch(out) == 10
        np.testing.assert_array_equal(out["seq"][:10], records["seq"])
        status = consumer.status()
        assert status["skipped"] == 10 + 10**7 and status["consumer_resyncs"] == 1
        assert status["head"] == status["tail"] + 10 and status["problem"] is None
        consumer.check()
    assert "the consumer resynchronised (resyncs 1; records skipped unread 10000010)" in caplog.text


@pytest.mark.parametrize("producer_numba", [True, False], ids=["kernel-producer", "plain-producer"])
def test_a_producer_that_finds_the_tail_ahead_goes_on_from_it(group, producer_numba, caplog):
    name = ring_name(group, "tail")
    records = np.zeros(4, TICK)
    out = np.zeros(CAPACITY, TICK)
    with Ring(name, PRODUCER, TICK, CAPACITY, numba=producer_numba) as producer:
        producer.push_batch(records)
        corrupt(name, H.W_TAIL, 1000)
        assert producer.push_batch(records) == 4
        assert producer.status()["producer_resyncs"] == 1
        assert (producer.head, producer.tail) == (1004, 1000)
        producer.check()
    with Ring(name, CONSUMER, TICK) as consumer:
        assert consumer.pop_batch(out) == 4
    assert "the producer went on from the tail (resyncs 1)" in caplog.text


@pytest.mark.parametrize("producer_numba", [True, False], ids=["kernel-producer", "plain-producer"])
def test_a_capacity_word_overwritten_after_attach_is_ignored_and_reported(group, producer_numba):
    name = ring_name(group, "capword")
    records = np.zeros(CAPACITY, TICK)
    records["seq"] = np.arange(CAPACITY)
    out = np.zeros(CAPACITY, TICK)
    with Ring(name, PRODUCER, TICK, CAPACITY, numba=producer_numba) as producer, Ring(name, CONSUMER, TICK) as consumer:
        corrupt(name, H.W_CAPACITY, 1 << 40)
        for _ in range(3):  # wraps: indexes with the capacity checked at attach
            assert producer.push_batch(records) == CAPACITY
            assert consumer.pop_batch(out) == CAPACITY
            consumer.commit()
            np.testing.assert_array_equal(out["seq"], records["seq"])
        assert "capacity 1099511627776 (was 64)" in consumer.status()["problem"]


@pytest.mark.parametrize("producer_numba", [True, False], ids=["kernel-producer", "plain-producer"])
@pytest.mark.parametrize("numba", [True, False])
def test_a_file_truncated_after_attach_stops_its_use_with_the_reason(group, producer_numba, numba):
    name = ring_name(group, "cut")
    with (Ring(name, PRODUCER, TICK, CAPACITY, numba=producer_numba) as producer,
          Ring(name, CONSUMER, TICK, numba=numba) as consumer):
        producer.push_batch(np.zeros(3, TICK))
        truncate(name, SIZE // 2)
        assert "is now" in consumer.check() and "truncated" in consumer.check()
        with pytest.raises(RingDamagedError, match="truncated"):
            consumer.pop_batch(np.zeros(4, TICK))
        assert producer.status()["damaged"]


@pytest.mark.parametrize("damage", [None, "magic", "capacity", "half"])  # a held header stays mapped: no cut into it
def test_the_plain_consumer_check_trusts_only_a_sound_ring(group, damage):
    """`tickagg run`'s start gate (no NumPy): True only for a sound ring whose consumer role is held."""
    name = ring_name(group, "gate")
    with pytest.raises(segment.SegmentMissingError):
        ring_check.consumer_alive_plain(name)
    with Ring(name, PRODUCER, TICK, CAPACITY):
        assert ring_check.consumer_alive_plain(name) is False  # a producer only
        with Ring(name, CONSUMER, TICK):
            if damage == "magic":
                corrupt(name, H.W_MAGIC, 0x41414141)
            elif damage == "capacity":
                corrupt(name, H.W_CAPACITY, 1 << 40)
            elif damage == "half":
                truncate(name, SIZE // 2)
            assert ring_check.consumer_alive_plain(name) is (damage is None)
        assert ring_check.consumer_alive_plain(name) is False  # the consumer gave its role up


def test_the_plain_consumer_check_refuses_a_file_open_to_others(group):
    name = ring_name(group, "open")
    with Ring(name, PRODUCER, TICK, CAPACITY), Ring(name, CONSUMER, TICK):
        os.chmod(segment.path_of(name), 0o644)
        with pytest.raises(segment.SegmentRefusedError):
            ring_check.consumer_alive_plain(name)


def test_the_plain_consumer_check_finds_no_ring_in_a_short_file(group):
    name = ring_name(group, "short")
    assert segment.create(name, 100, lambda memory: None)
    assert ring_check.consumer_alive_plain(name) is False
