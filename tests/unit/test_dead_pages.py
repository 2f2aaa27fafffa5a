"""shm/dead_pages.py: which pages of a ring hold only dead records, and giving them back from a real tmpfs file."""
from __future__ import annotations

import os
import random

import pytest

from shm import dead_pages
from shm.dead_pages import PAGE, DeadPages, dead_spans

DATA = 4096  # records start after the one-page header


def _record_bytes(record_size: int, capacity: int, position: int) -> slice:
    start = DATA + (position % capacity) * record_size
    return slice(start, start + record_size)


@pytest.mark.parametrize("record_size", [88, 64, 11216, 4096, 24])
def test_spans_cover_exactly_the_newly_dead_whole_pages(record_size):
    """Against a byte-by-byte model: no live byte is in a span; every whole dead page touching a newly dead
    record is."""
    rng = random.Random(record_size)
    for _ in range(200):
        capacity = 1 << rng.randint(2, max(2, min(9, (1 << 18) // record_size).bit_length() - 1))
        head = rng.randint(0, 5 * capacity)
        live_from = rng.randint(max(0, head - capacity), head)
        dead_from = rng.randint(max(0, live_from - 2 * capacity), live_from + 1)
        spans = dead_spans(DATA, record_size, capacity, dead_from, live_from, head)
        size = DATA + capacity * record_size
        live, newly, punched = bytearray(size), bytearray(size), bytearray(size)
        for position in range(live_from, head):
            live[_record_bytes(record_size, capacity, position)] = b"\1" * record_size
        for position in range(max(dead_from, head - capacity), live_from):
            newly[_record_bytes(record_size, capacity, position)] = b"\1" * record_size
        for start, end in spans:
            assert start % PAGE == 0 and end % PAGE == 0 and DATA <= start < end <= size
            punched[start:end] = b"\1" * (end - start)
        assert not any(a and b for a, b in zip(punched, live))
        for page in range(DATA, size - PAGE + 1, PAGE):
            if not any(live[page : page + PAGE]) and any(newly[page : page + PAGE]):
                assert all(punched[page : page + PAGE]), (capacity, head, live_from, dead_from, page)


def test_positions_outside_the_rings_rule_give_nothing():
    assert dead_spans(DATA, 88, 1024, 0, live_from=2000, head=1000) == []  # a tail past the head
    assert dead_spans(DATA, 88, 1024, 0, live_from=10, head=5000) == []  # a tail more than a capacity behind


@pytest.fixture
def ring_file():
    path = f"/dev/shm/tickagg-test-dead-pages-{os.getpid()}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)
        os.unlink(path)


def _fill(fd: int, record_size: int, capacity: int, head: int) -> dict[int, bytes]:
    """Write records up to ``head`` (each slot's bytes: its position, repeated); what each live slot holds."""
    os.ftruncate(fd, DATA + capacity * record_size)
    held = {}
    for position in range(head):
        data = position.to_bytes(8, "little") * (record_size // 8)
        os.pwrite(fd, data, DATA + (position % capacity) * record_size)
        held[position % capacity] = data
    return held


def test_release_gives_back_dead_pages_and_keeps_every_live_record(ring_file):
    record_size, capacity, head = 88, 1 << 12, (1 << 12) + 1000
    held = _fill(ring_file, record_size, capacity, head)
    before = os.fstat(ring_file).st_blocks * 512
    pages = DeadPages(ring_file, DATA, record_size, capacity, min_bytes=PAGE)
    live_from = head - 300
    punched = pages.release(live_from, head)
    after = os.fstat(ring_file).st_blocks * 512
    assert punched > (capacity - 300) * record_size - 2 * PAGE and before - after == punched
    for position in range(live_from, head):
        slot = position % capacity
        assert os.pread(ring_file, record_size, DATA + slot * record_size) == held[slot]
    assert pages.dead_from == live_from and pages.released_bytes == punched
    assert pages.release(live_from + 1, head) == 0  # fewer than min_bytes died since: nothing
    assert pages.release(head, head) > 0  # the last 300 stored too: their pages go back


def test_release_keeps_the_pages_when_the_file_system_is_short_of_room(ring_file, monkeypatch):
    record_size, capacity = 88, 1 << 10
    _fill(ring_file, record_size, capacity, capacity)
    monkeypatch.setattr(dead_pages, "RESERVE_FACTOR", 1e12)
    pages = DeadPages(ring_file, DATA, record_size, capacity, min_bytes=PAGE)
    before = os.fstat(ring_file).st_blocks
    assert pages.release(capacity, capacity) == 0
    assert pages.skipped_low_space == 1 and os.fstat(ring_file).st_blocks == before and pages.dead_from == 0
