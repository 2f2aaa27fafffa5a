"""Numba push/pop kernels of the SPSC ring (layout: shm/header.py).

Kernels take the ring's records as a numpy structured array; Numba compiles
(and caches) one specialisation per record dtype.

Publish order, the part that makes the ring lock-free and correct:
- producer: copy records into free slots, *then* ``store_release(head)``;
  a consumer that ``load_acquire``s the new head is guaranteed to see the
  records (release/acquire pair; plain stores cannot sink below the release).
- consumer: copy records out, *then* ``store_release(tail)`` (in ``commit``);
  the producer ``load_acquire``s tail before reusing slots, so it never
  overwrites a slot the consumer is still reading.
Each counter has one writer, so no read-modify-write atomics are needed.

Nothing read from shared memory indexes the records unchecked: the capacity
is the records array's length (validated against the file at attach, never
the header word), and each batch checks the positions once (not per record):
a producer that finds the tail ahead of its head restarts from the tail; a
consumer whose head is out of reach calls ``sync`` (header.py: counters).
"""
from __future__ import annotations

import numba
import numpy as np

from shm.atomics import load_acquire, store_release
from shm.clock import monotonic_ns
from shm.header import (W_CAPACITY, W_CONSUMER_HB, W_CONSUMER_RESYNCS, W_DROPPED, W_HEAD, W_PRODUCER_HB,
                        W_PRODUCER_RESYNCS, W_SKIPPED, W_TAIL)


@numba.njit(cache=True, nogil=True)
def push(data: np.ndarray, header: np.ndarray, records: np.ndarray, now_ns: int) -> int:
    """Copy ``records`` into the ring's free slots; return how many fit.

    Records that do not fit are dropped and counted (the producer never waits).
    A tail ahead of the head is impossible (a damaged header): the producer
    goes on from the tail and counts the resync. A head more than a capacity
    ahead of the tail leaves no room: records are dropped until the consumer's
    ``sync`` moves the tail.
    """
    capacity = data.size  # validated at attach: never the header word
    mask = capacity - 1
    head = header[W_HEAD]  # only this producer writes head
    tail = load_acquire(header, W_TAIL)
    if tail > head:
        header[W_PRODUCER_RESYNCS] += 1
        head = tail
    accepted = max(0, min(records.size, capacity - (head - tail)))
    for i in range(accepted):
        data[(head + i) & mask] = records[i]
    store_release(header, W_HEAD, head + accepted)
    if accepted < records.size:
        header[W_DROPPED] += records.size - accepted
    header[W_PRODUCER_HB] = now_ns
    return accepted


@numba.njit(cache=True, nogil=True)
def pop(data: np.ndarray, header: np.ndarray, position: int, out: np.ndarray) -> int:
    """Copy records from ``position`` on into ``out``; return how many.

    Does not move the committed tail: see ``commit``. Returns 0 while the
    head is impossible from ``position`` (call ``sync`` first).
    """
    capacity = data.size  # validated at attach: never the header word
    mask = capacity - 1
    head = load_acquire(header, W_HEAD)
    available = head - position
    if available < 0 or available > capacity:
        return 0
    count = min(available, out.size)
    for i in range(count):
        out[i] = data[(position + i) & mask]
    return count


@numba.njit(cache=True, nogil=True)
def sync(data: np.ndarray, header: np.ndarray, position: int) -> int:
    """The consumer's position to read from: ``position``, unless the header says that is impossible.

    A head more than a capacity ahead cannot be the producer's (it never
    overwrites unread slots): jump to it, commit, and count the skipped
    positions, so no stale slot is read as a record. A tail not at or before
    ``position`` (or out of the head's reach) was overwritten: restore it.
    A head behind ``position`` is waited out (``pop`` returns 0): the
    producer restarts from the tail.
    """
    capacity = data.size
    head = load_acquire(header, W_HEAD)
    if head - position > capacity:
        header[W_SKIPPED] += head - position
        header[W_CONSUMER_RESYNCS] += 1
        store_release(header, W_TAIL, head)
        return head
    tail = header[W_TAIL]
    if tail > position or head - tail > capacity:
        header[W_CONSUMER_RESYNCS] += 1
        store_release(header, W_TAIL, position)
    return position


@numba.njit(cache=True, nogil=True)
def pop_spin(data: np.ndarray, header: np.ndarray, position: int, out: np.ndarray, spin_ns: int) -> int:
    """``pop``, busy-polling the head for up to ``spin_ns`` while the ring is empty."""
    if load_acquire(header, W_HEAD) == position and spin_ns > 0:
        deadline = monotonic_ns() + spin_ns
        while load_acquire(header, W_HEAD) == position and monotonic_ns() < deadline:
            pass
    return pop(data, header, position, out)


@numba.njit(cache=True, nogil=True)
def sync_and_pop(data: np.ndarray, header: np.ndarray, position: int, out: np.ndarray, spin_ns: int) -> tuple:
    """``sync`` then ``pop_spin`` in one call from Python (one dispatch per batch): ``(position, count)``,
    the position the records in ``out[:count]`` start at."""
    position = sync(data, header, position)
    return position, pop_spin(data, header, position, out, spin_ns)


@numba.njit(cache=True, nogil=True)
def commit(header: np.ndarray, position: int, now_ns: int) -> None:
    """Publish ``position`` as the tail: records before it may be overwritten."""
    store_release(header, W_TAIL, position)
    header[W_CONSUMER_HB] = now_ns


@numba.njit(cache=True, nogil=True)
def head_of(header: np.ndarray) -> int:
    return load_acquire(header, W_HEAD)


@numba.njit(cache=True, nogil=True)
def load_word(words: np.ndarray, index: int) -> int:
    """``words[index]`` with acquire ordering (the symbol directory's count; ``plain.load_word`` on x86-64)."""
    return load_acquire(words, index)


@numba.njit(cache=True, nogil=True)
def store_word(words: np.ndarray, index: int, value: int) -> None:
    """``words[index] = value`` with release ordering (``plain.store_word`` on x86-64)."""
    store_release(words, index, value)


_warm: set = set()


def warm_up(dtype: np.dtype) -> None:
    """Compile (or load from cache) every kernel for ``dtype`` now, not on the hot path."""
    if dtype in _warm:
        return
    data, records = np.zeros(2, dtype=dtype), np.zeros(1, dtype=dtype)
    header = np.zeros(512, dtype=np.int64)
    header[W_CAPACITY] = 2
    push(data, header, records, 0)
    pop(data, header, 0, records)
    pop_spin(data, header, 0, records, 1)
    sync(data, header, 0)
    sync_and_pop(data, header, 0, records, 0)
    commit(header, 1, 0)
    head_of(header)
    _warm.add(dtype)
