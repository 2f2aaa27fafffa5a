"""Give back the pages of a ring's records that nobody will read again (a hole punched in its tmpfs file).

A ring's file is created sparse; a page takes memory when first written and
keeps it for good, so a ring that has wrapped once holds its whole capacity
(out.ticks 44 MiB, out.features 46 MiB) although, at the operating point, the
writer has stored all but the last few milliseconds of it. Its producer knows
which records are dead: those behind the consumer's committed tail (the
consumer never reads them again, a restarted one resumes at that tail) and
behind any window it keeps for itself (the aggregator reads its last
``RESTART_WINDOW`` out.ticks records on restart). ``DeadPages.release``
punches the pages that hold only such records out of the file
(``fallocate(PUNCH_HOLE)``: the memory goes back to the system; a later write
there takes a fresh zeroed page, as the ring's first lap did).

Only the producer may do it, between its own pushes: the records it frees
are in slots it will write next, so no write of its own races the punch, and
the consumer reads only at or after its tail. A tail read from shared memory
is not trusted beyond the ring's own rule (``head - capacity <= tail <=
head``): outside it nothing is punched.

A page given back must be taken again when the ring comes round: on a full
/dev/shm that write faults (SIGBUS), as the ring's first lap would. So pages go back only
while the file system keeps ``RESERVE_FACTOR`` times the ring's size free; below it
the ring keeps what it has (counted in ``skipped_low_space``).

Cost: the producer faults each page in again, ~1 µs per 4 KiB (out.ticks at
80k ticks/s: ~1,700 faults/s, ~0.2% of a core), and one ``fallocate`` per
release. Memory saved at that point: out.ticks' resident part falls from 44 MiB
to its kept window plus the writer's lag; out.features' from up to 46 MiB to the
rows of the minute close not yet stored.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 0x01, 0x02
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RESERVE_FACTOR = 2.0  # free space on the ring's file system, in ring sizes, below which no page goes back


def dead_spans(data_offset: int, record_size: int, capacity: int, dead_from: int, live_from: int,
               head: int) -> list[tuple[int, int]]:
    """Byte spans ``[start, end)`` of whole pages of the ring's file that hold only dead records and at least
    one record of positions ``[dead_from, live_from)`` (those that died since the last release).

    Records at positions ``[live_from, head)`` are live; every slot not holding one of them is dead (its
    record is at a position before ``live_from``). Empty if the positions break the ring's rule."""
    if not head - capacity <= live_from <= head or capacity <= 0:
        return []
    dead_from = max(dead_from, head - capacity)
    if dead_from >= live_from:
        return []
    area_end = data_offset + capacity * record_size
    live = _cyclic(data_offset, record_size, capacity, live_from, head)
    if not live:
        dead = [(data_offset, area_end)]
    elif len(live) == 2:  # live wraps: dead is what lies between its two parts
        dead = [(live[1][1], live[0][0])]
    else:
        dead = [(data_offset, live[0][0]), (live[0][1], area_end)]
    new = _cyclic(data_offset, record_size, capacity, dead_from, live_from)
    spans = []
    for start, end in dead:
        start, end = _round_up(start), end // PAGE * PAGE  # whole pages only
        for new_start, new_end in new:
            lo, hi = max(start, new_start // PAGE * PAGE), min(end, _round_up(new_end))
            if lo < hi:
                spans.append((lo, hi))
    return spans


def _cyclic(data_offset: int, record_size: int, capacity: int, start: int, end: int) -> list[tuple[int, int]]:
    """Bytes of positions ``[start, end)`` (at most ``capacity`` of them): one span, or two where they wrap."""
    count = end - start
    if count <= 0:
        return []
    first = start % capacity
    if first + count <= capacity:
        return [(data_offset + first * record_size, data_offset + (first + count) * record_size)]
    return [(data_offset + first * record_size, data_offset + capacity * record_size),
            (data_offset, data_offset + (first + count - capacity) * record_size)]


def _round_up(offset: int) -> int:
    return -(-offset // PAGE) * PAGE


class DeadPages:
    """One producer's releases for one ring: ``release(live_from, head)`` between its pushes."""

    def __init__(self, fd: int, data_offset: int, record_size: int, capacity: int, min_bytes: int = 1 << 20):
        self.fd, self.data_offset, self.record_size, self.capacity = fd, data_offset, record_size, capacity
        self.min_records = max(1, min_bytes // record_size)  # fewer newly dead records wait for the next release
        self.ring_bytes = data_offset + capacity * record_size
        self.dead_from = 0  # positions before it were given back (or were never written by this producer)
        self.released_bytes = self.skipped_low_space = self.errors = 0

    def release(self, live_from: int, head: int) -> int:
        """Punch the pages that hold only records before ``live_from`` (``head``: the producer's head); bytes
        punched. Nothing while fewer than ``min_bytes`` of records died since the last release."""
        if live_from - self.dead_from < self.min_records or _FALLOCATE is None:
            return 0
        if not self._room():
            self.skipped_low_space += 1
            return 0
        spans = dead_spans(self.data_offset, self.record_size, self.capacity, self.dead_from, live_from, head)
        punched = 0
        for start, end in spans:
            if _FALLOCATE(self.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, start, end - start) != 0:
                self.errors += 1  # e.g. EOPNOTSUPP on a file system without holes: the pages stay
                return punched
            punched += end - start
        if head - self.capacity <= live_from <= head:
            self.dead_from = live_from
        self.released_bytes += punched
        return punched

    def _room(self) -> bool:
        try:
            stats = os.fstatvfs(self.fd)
        except OSError:
            return False
        return stats.f_bavail * stats.f_frsize >= RESERVE_FACTOR * self.ring_bytes


def _fallocate():
    """libc's ``fallocate(fd, mode, offset, len)``, or None where there is none (not Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    function.restype = ctypes.c_int
    return function


_FALLOCATE = _fallocate()
