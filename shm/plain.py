"""Ring pushes and reads without Numba: plain stores, loads and ``pread``, for processes that must stay small.

Importing Numba and loading the cached ring kernels costs a process about
100 MB; the writer and the feeds need neither, and the group's memory is
bounded (issue 12: ten feeds and the rest in 500 MB PSS). A ring opened with
``Ring(..., numba=False)`` pushes, pops, peeks and commits through these
functions instead; ``record_pusher`` packs one record at a time straight
into its slot (a light feed's tick per wakeup: no numpy call), and
``bytes_pusher`` copies a staging area's whole records likewise.

Memory ordering (the protocol of shm/kernels.py): the consumer must load
``head`` with acquire semantics before reading records, and store ``tail``
with release semantics after it; the producer must load ``tail`` with acquire
semantics before reusing slots, and store ``head`` with release semantics
after writing the records. On x86-64 the hardware gives every plain load
acquire and every plain store release semantics (TSO: stores become visible
in program order, loads are not reordered with later stores). The record
copy in ``push`` is one memcpy into the mapping (mmap slice assignment);
glibc ends a non-temporal copy with ``sfence`` and the stores of a ``rep
movsb`` are not reordered with later stores, so the records are visible
before the head store that follows. That head store is one aligned 8-byte numpy element
store (a single ``mov``, never torn): a producer killed before it publishes
nothing of the batch, one killed after it published all of it. Each numpy
element access, copy and ``pread`` is a separate opaque C call, so no
compiler can reorder them either. On other CPUs (aarch64: weak ordering) that
argument fails, so ``AVAILABLE`` is False there and rings keep their Numba
kernels (``load acquire`` / ``store release``).

Positions are checked once per batch exactly as the kernels do (``push``,
``sync``, ``pop``), against the capacity validated at attach, never the
header word.

Records are copied with ``pread`` from the ring's file rather than through
the mapping: the ring's pages (44 MiB for out.ticks) stay tmpfs pages of the
process group and never count in the reader's resident memory.
"""
from __future__ import annotations

import os
import platform
import time
from typing import TYPE_CHECKING

from shm.doorbell import ring as ring_bell
from shm.header import (HEADER_BYTES, W_ASLEEP, W_CONSUMER_HB, W_CONSUMER_RESYNCS, W_DROPPED, W_HEAD, W_PRODUCER_HB,
                        W_PRODUCER_RESYNCS, W_SKIPPED, W_TAIL)

if TYPE_CHECKING:  # NumPy only for the Ring's arrays (push, pop): a feed imports this module without it
    import numpy as np

AVAILABLE = platform.machine().lower() in ("x86_64", "amd64")


def head_of(header: np.ndarray) -> int:
    return int(header[W_HEAD])


def push(memory, header: np.ndarray, records: np.ndarray, now_ns: int) -> int:
    """``shm.kernels.push`` with plain stores: copy ``records`` into free slots, then publish the head; return
    how many fit (the rest are dropped and counted). ``memory``: the ring's mapping (its length validated
    against the file at attach, so the capacity below is never the header word)."""
    size = records.itemsize
    capacity = (len(memory) - HEADER_BYTES) // size
    head = header.item(W_HEAD)  # only this producer writes head
    tail = header.item(W_TAIL)  # the acquire load: before any slot is reused
    if tail > head:  # impossible: a damaged header; go on from the tail
        header[W_PRODUCER_RESYNCS] += 1
        head = tail
    count = len(records)
    accepted = max(0, min(count, capacity - (head - tail)))
    if accepted:
        if not records.flags.c_contiguous:
            import numpy as np  # the caller has it: a numpy Ring's records

            records = np.ascontiguousarray(records)
        start = head & (capacity - 1)
        first = min(accepted, capacity - start)
        offset = HEADER_BYTES + start * size
        # mmap slice assignment: one memcpy from the records' buffer (a structured view or .view(np.uint8)
        # costs more than the copy of a small batch)
        memory[offset : offset + first * size] = records if first == count else records[:first]
        if accepted > first:  # wrapped: the rest into the ring's first slots
            memory[HEADER_BYTES : HEADER_BYTES + (accepted - first) * size] = records[first:accepted]
    header[W_HEAD] = head + accepted  # the release store: the records are visible first
    if accepted < count:
        header[W_DROPPED] += count - accepted
    header[W_PRODUCER_HB] = now_ns
    return accepted


def record_pusher(memory, words: memoryview, slots: int, record, ring):
    """``push`` of one record at a time, packed straight into its slot: a function ``push(fields) -> 1 or 0``
    that runs ``record.pack_into(memory, offset, *fields)`` (``record``: a ``struct.Struct`` of the ring's record
    size) and publishes the head; no staging copy, no numpy call (a light feed's tick per wakeup). ``words``: the
    header as a memoryview of int64 (an element store is one aligned 8-byte ``mov``, as numpy's); ``slots``: the
    capacity validated at attach; ``ring``: the Ring, whose damage check runs when its clock window has passed
    (as ``Ring.push_batch``). A field ``pack_into`` refuses raises before the head moves: a half-written free
    slot is never published. After the head, one load of the ``asleep`` word: a sleeping consumer is woken
    (shm/doorbell.py)."""
    pack_into, size, mask, clock, bell = record.pack_into, record.size, slots - 1, time.time_ns, ring.bell_address

    def push(fields: tuple) -> int:
        now_ns = clock()  # the heartbeat, and the clock of the ring's damage check
        if not ring._checked_ns <= now_ns < ring._next_check_ns:
            ring._check_now_and_then(now_ns)
        head = words[W_HEAD]  # only this producer writes head
        tail = words[W_TAIL]  # the acquire load: before the slot is reused
        if tail > head:  # impossible: a damaged header; go on from the tail
            words[W_PRODUCER_RESYNCS] += 1
            head = tail
        if head - tail < slots:
            pack_into(memory, HEADER_BYTES + (head & mask) * size, *fields)
            words[W_HEAD] = head + 1  # the release store: the record is visible first
            words[W_PRODUCER_HB] = now_ns
            if words[W_ASLEEP]:
                ring_bell(words, bell)
            return 1
        words[W_HEAD] = head
        words[W_DROPPED] += 1
        words[W_PRODUCER_HB] = now_ns
        return 0

    return push


def bytes_pusher(memory, words: memoryview, slots: int, size: int, ring):
    """``push`` of whole records given as bytes, without numpy: a function ``push(data, count) -> accepted``
    that copies ``data`` (a buffer of ``count`` records of ``size`` bytes: a staging area's memoryview) into
    free slots with one mmap slice assignment (two when it wraps) and publishes the head, as ``push`` does
    (same resync, drop and heartbeat accounting; ``words``, ``slots`` and ``ring`` as in ``record_pusher``).
    A small batch costs about a sixth of ``push``'s numpy calls (a light feed's few ticks per wakeup). After the
    head, one load of the ``asleep`` word: a sleeping consumer is woken (shm/doorbell.py)."""
    mask, clock, bell = slots - 1, time.time_ns, ring.bell_address

    def push(data, count: int) -> int:
        now_ns = clock()  # the heartbeat, and the clock of the ring's damage check
        if not ring._checked_ns <= now_ns < ring._next_check_ns:
            ring._check_now_and_then(now_ns)
        head = words[W_HEAD]  # only this producer writes head
        tail = words[W_TAIL]  # the acquire load: before any slot is reused
        if tail > head:  # impossible: a damaged header; go on from the tail
            words[W_PRODUCER_RESYNCS] += 1
            head = tail
        accepted = max(0, min(count, slots - (head - tail)))
        if accepted:
            start = head & mask
            first = min(accepted, slots - start)
            offset = HEADER_BYTES + start * size
            memory[offset : offset + first * size] = data[: first * size]  # one memcpy
            if accepted > first:  # wrapped: the rest into the ring's first slots
                memory[HEADER_BYTES : HEADER_BYTES + (accepted - first) * size] = data[first * size : accepted * size]
        words[W_HEAD] = head + accepted  # the release store: the records are visible first
        if accepted < count:
            words[W_DROPPED] += count - accepted
        words[W_PRODUCER_HB] = now_ns
        if accepted and words[W_ASLEEP]:
            ring_bell(words, bell)
        return accepted

    return push


def load_word(words: np.ndarray, index: int) -> int:
    """``words[index]`` as an acquire load (x86-64: any aligned plain load; ``kernels.load_word`` elsewhere)."""
    return int(words[index])


def store_word(words: np.ndarray, index: int, value: int) -> None:
    """``words[index] = value`` as a release store (x86-64: any aligned plain store; ``kernels.store_word``)."""
    words[index] = value


def sync(header: np.ndarray, position: int, capacity: int) -> int:
    """``shm.kernels.sync`` with plain loads: the position to read from, repairing impossible positions."""
    head = int(header[W_HEAD])
    if head - position > capacity:
        header[W_SKIPPED] += head - position
        header[W_CONSUMER_RESYNCS] += 1
        header[W_TAIL] = head
        return head
    tail = int(header[W_TAIL])
    if tail > position or head - tail > capacity:
        header[W_CONSUMER_RESYNCS] += 1
        header[W_TAIL] = position
    return position


def pop(fd: int, header: np.ndarray, position: int, out: np.ndarray, capacity: int) -> int:
    """Copy records from ``position`` on into ``out`` (contiguous); return how many (0 while the head is
    impossible from ``position``: ``sync`` first). ``capacity``: validated at attach."""
    available = int(header[W_HEAD]) - position  # head first: the acquire load
    if available <= 0 or available > capacity:
        return 0
    count = min(available, len(out))
    size = out.dtype.itemsize
    start = position & (capacity - 1)
    first = min(count, capacity - start)
    import numpy as np  # the caller has it: a numpy Ring's records

    raw = out[:count].view(np.uint8)
    _read(fd, raw[: first * size], HEADER_BYTES + start * size)
    if count > first:  # wrapped: the rest from the ring's first slot
        _read(fd, raw[first * size :], HEADER_BYTES)
    return count


def commit(header: np.ndarray, position: int, now_ns: int) -> None:
    """Publish ``position`` as the tail, after every read of the records before it (release store)."""
    header[W_TAIL] = position
    header[W_CONSUMER_HB] = now_ns


def _read(fd: int, buffer: np.ndarray, offset: int) -> None:
    view = memoryview(buffer)
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise OSError(f"ring file ended at byte {offset + done} while reading records")
        done += got
