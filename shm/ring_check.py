"""Checks of a ring's header against its file: nothing in shared memory is trusted before it passes.

Another process (or a bug, or a user with ``truncate``) may have written any
header word or cut the file. A ring is used only if its words agree with each
other and with the file's real size (``fstat``), so no kernel ever indexes
past the mapping: magic, version, record size (a multiple of 8, the dtype's),
capacity (a power of two up to ``MAX_CAPACITY``), header + capacity x record
size == file size, and ``0 <= tail <= head <= tail + capacity``.
A ring whose layout words fail is "foreign or damaged" (shm/ring_attach.py replaces
it when no live process holds it). Impossible positions are not a reason to
throw a ring away: each side repairs its own word (shm/kernels.py).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shm import header as H
from shm import segment

if TYPE_CHECKING:  # the checks index any int64 word sequence: a plain reader (no NumPy) uses them too
    import numpy as np

MAX_CAPACITY = 1 << 32  # records; the largest ring we create is 2^20
MAX_RECORD_BYTES = 1 << 16


def file_problem(file_size: int) -> str | None:
    """Why a file of ``file_size`` bytes cannot even hold a ring header, or None."""
    if file_size < H.HEADER_BYTES:
        return f"is {file_size} bytes, shorter than the {H.HEADER_BYTES}-byte ring header (truncated?)"
    return None


def header_problem(words: np.ndarray, file_size: int, record_bytes: int | None = None) -> str | None:
    """What is wrong with the layout words of ring header ``words`` (int64) for a file of ``file_size`` bytes,
    or None (positions: ``positions_problem``).

    ``record_bytes``: the record size the caller expects (None: take the header's).
    The layout version and the record fields are not checked here (shm/ring_attach.py
    tells another release's ring from a damaged one).
    """
    problem = file_problem(file_size)
    if problem:
        return problem
    if int(words[H.W_MAGIC]) != H.MAGIC:
        return f"has a bad magic word {int(words[H.W_MAGIC]):#x} (not a tickagg ring, or damaged)"
    size = int(words[H.W_RECORD_SIZE])
    if size < 8 or size % 8 or size > MAX_RECORD_BYTES:
        return f"has an impossible record size word {size}"
    if record_bytes is not None and size != record_bytes:
        return f"has a record size word {size}, its records are {record_bytes} bytes"
    capacity = int(words[H.W_CAPACITY])
    if capacity < 2 or capacity & (capacity - 1) or capacity > MAX_CAPACITY:
        return f"has an impossible capacity word {capacity} (a power of two from 2 to {MAX_CAPACITY} expected)"
    expected = H.HEADER_BYTES + capacity * size
    if file_size != expected:
        return f"is {file_size} bytes, its header implies {expected} (capacity {capacity} x {size} B; truncated?)"
    return None


def positions_problem(words: np.ndarray, capacity: int) -> str | None:
    """Why the head and tail words cannot both be right for a ring of ``capacity`` records, or None."""
    head, tail = int(words[H.W_HEAD]), int(words[H.W_TAIL])
    if not 0 <= tail <= head <= tail + capacity:
        return f"has impossible positions: tail {tail}, head {head}, capacity {capacity}"
    return None


def consumer_alive_plain(name: str) -> bool:
    """Whether segment ``name`` is a sound ring (owner and mode as shm/segment.py requires, layout words that
    agree with the file, ``header_problem``) whose consumer role a live process holds: read with one ``pread``
    of the header, without NumPy (`tickagg run`'s start gate, tickagg/start_gate.py). SegmentError when the
    segment is missing or refused; False when it is not a sound ring or nobody consumes it."""
    fd = segment.open_checked(name)
    try:
        data = os.pread(fd, H.HEADER_BYTES, 0)
        if len(data) < H.HEADER_BYTES:
            return False
        if header_problem(memoryview(data).cast("q"), os.fstat(fd).st_size):
            return False
        return segment.is_locked(fd, H.CONSUMER_LOCK_BYTE)
    finally:
        os.close(fd)
