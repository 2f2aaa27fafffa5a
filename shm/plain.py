"""Consumer reads without Numba: plain loads and ``pread``, for processes that must stay small.

Importing Numba and loading the cached ring kernels costs a process about
100 MB; the writer needs neither, and its memory is bounded (issue: writer RSS
<= 200 MB). A ring opened with ``Ring(..., numba=False)`` pops, peeks and
commits through these functions instead.

Memory ordering (the protocol of shm/kernels.py): the consumer must load
``head`` with acquire semantics before reading records, and store ``tail``
with release semantics after it. On x86-64 the hardware gives every plain
load acquire and every plain store release semantics (TSO); each numpy
element access and the ``pread`` below is a separate opaque C call, so no
compiler can reorder them either. On other CPUs (aarch64: weak ordering) that
argument fails, so ``AVAILABLE`` is False there and rings keep their Numba
kernels (``load acquire`` / ``store release``).

Positions are checked once per batch exactly as the kernels do (``sync``,
``pop``), against the capacity validated at attach, never the header word.

Records are copied with ``pread`` from the ring's file rather than through
the mapping: the ring's pages (88 MiB for out.ticks) stay tmpfs pages of the
process group and never count in the reader's resident memory.
"""
from __future__ import annotations

import os
import platform

import numpy as np

from shm.header import HEADER_BYTES, W_CONSUMER_HB, W_CONSUMER_RESYNCS, W_HEAD, W_SKIPPED, W_TAIL

AVAILABLE = platform.machine().lower() in ("x86_64", "amd64")


def head_of(header: np.ndarray) -> int:
    return int(header[W_HEAD])


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
