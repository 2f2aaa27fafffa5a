"""What a process notices about its ring after attaching: a file that changed size, header words someone else
wrote, resyncs of the kernels. Each incident is logged once (when it starts), never per batch.

A ring's file cut short under a process makes its next access past the end a
SIGBUS, so ``look`` compares the file's size (``fstat``, ~1 µs) with the size
validated at attach; push and pop call it every few hundred ms (shm/ring.py),
the aggregator between its slices. Header words are only reported: the
kernels never index with them (shm/kernels.py).
"""
from __future__ import annotations

import logging
import os

from shm import header as H
from shm import ring_check

log = logging.getLogger("shm.ring")

LAYOUT_WORDS = (("magic", H.W_MAGIC), ("version", H.W_VERSION), ("record size", H.W_RECORD_SIZE),
                ("capacity", H.W_CAPACITY), ("fingerprint", H.W_FINGERPRINT))
ROLE_COUNTERS = {"producer": (H.W_PRODUCER_RESYNCS,), "consumer": (H.W_CONSUMER_RESYNCS, H.W_SKIPPED)}


class RingWatch:
    """The after-attach checks of one ``Ring`` (its file descriptor, header, capacity and role)."""

    def __init__(self, ring) -> None:
        self._ring = ring
        self.expected_size = H.HEADER_BYTES + ring.capacity * ring.record_bytes
        self._layout = {name: int(ring._header[word]) for name, word in LAYOUT_WORDS}
        self._counters = self._read_counters()
        self._incident: str | None = None
        self.damaged: str | None = None

    def look(self) -> str | None:
        """Why the ring can no longer be used (its file changed size), else None; logs new incidents."""
        if self.damaged or self._ring._header is None:
            return self.damaged
        problem = self.size_problem()
        if problem:
            self.mark_damaged(problem)
            return self.damaged
        incident = self.header_problem()
        if incident and incident != self._incident:
            log.error("%s: %s", self._ring.name, incident)
        elif self._incident and not incident:
            log.info("%s: header consistent again", self._ring.name)
        self._incident = incident
        counters = self._read_counters()
        if counters != self._counters:
            if self._ring.role == "producer":
                log.warning("%s: the tail was ahead of the head: the producer went on from the tail (resyncs %d)",
                            self._ring.name, *counters)
            else:
                log.warning("%s: impossible positions in the header: the consumer resynchronised (resyncs %d; "
                            "records skipped unread %d)", self._ring.name, *counters)
        self._counters = counters
        return None

    def size_problem(self) -> str | None:
        """The file's size, if it is no longer the one validated at attach (no logging)."""
        size = os.fstat(self._ring._fd).st_size
        if size == self.expected_size:
            return None
        return f"{self._path()} is now {size} bytes, it was {self.expected_size} at attach (truncated?)"

    def overwritten(self) -> list[str]:
        """The layout words that changed since attach ("capacity 1099511627776 (was 4096)"); a restart would
        find the ring damaged."""
        words = self._ring._header
        return [f"{name} {int(words[word])} (was {self._layout[name]})" for name, word in LAYOUT_WORDS
                if int(words[word]) != self._layout[name]]

    def header_problem(self) -> str | None:
        """Layout words changed since attach, or positions that cannot be (seen twice: not a race), else None."""
        words = self._ring._header
        changed = self.overwritten()
        if changed:
            return "header words overwritten: " + ", ".join(changed) + "; ignored (the values checked at attach are used)"
        capacity = self._ring.capacity
        if ring_check.positions_problem(_positions(words), capacity) is None:
            return None
        return ring_check.positions_problem(_positions(words), capacity)

    def mark_damaged(self, problem: str) -> None:
        if self.damaged is None:
            log.error("%s: %s; no longer used by this %s", self._ring.name, problem, self._ring.role)
        self.damaged = problem

    def _read_counters(self) -> tuple[int, ...]:
        """This role's resync counters (a monitor has none)."""
        words = self._ring._header
        return tuple(int(words[word]) for word in ROLE_COUNTERS.get(self._ring.role, ()))

    def _path(self) -> str:
        from shm import segment

        return segment.path_of(self._ring.name)


def _positions(words) -> list[int]:
    """A private copy of the head and tail words (tail first: a racing read sees head >= tail)."""
    copy = [0] * (H.W_TAIL + 1)
    copy[H.W_TAIL] = int(words[H.W_TAIL])
    copy[H.W_HEAD] = int(words[H.W_HEAD])
    return copy
