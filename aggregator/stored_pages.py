"""The aggregator gives back the pages of its big output rings that the writer has stored (shm/dead_pages.py).

out.ticks (44 MiB at the default sizing) and out.features (46 MiB: one
11 KiB row per symbol and minute) are written all round and read within
tens of milliseconds by the writer; without this every page they ever used
stays resident. Between slices, at most every ``RELEASE_EVERY_S``, the pages
behind the writer's committed tail go back, except the last ``kept``
records of a ring (out.ticks: the restart window the aggregator reads when it
starts again, aggregator/main.py ``already_published``). While no consumer
has committed anything (no writer: ``--no-writer``, or not started yet)
nothing is dead and nothing goes back.
"""
from __future__ import annotations

import logging

from shm import header as H
from shm.dead_pages import DeadPages
from shm.ring import Ring

log = logging.getLogger("tickagg.aggregate")
RELEASE_EVERY_S = 0.1  # a minute close's feature rows go back within about this much of being stored


class StoredPages:
    """Releases for the output rings named in ``kept`` (short name -> records kept behind the head)."""

    def __init__(self, rings: list[Ring], kept: dict[str, int]):
        self._rings = []
        for ring in rings:
            short = ring.name.split(".", 2)[-1]  # tickagg.<group>.<short name>
            if short in kept:
                fd, _ = ring.file_and_size()
                pages = DeadPages(fd, H.HEADER_BYTES, ring.dtype.itemsize, ring.capacity)
                self._rings.append((ring, pages, kept[short]))
        self._due = 0.0
        self._warned: set[tuple[str, str]] = set()

    def release(self, now: float) -> None:
        """Give back what died since the last release (``now``: time.monotonic())."""
        if now < self._due:
            return
        self._due = now + RELEASE_EVERY_S
        for ring, pages, kept in self._rings:
            head = ring.head
            pages.release(min(ring.tail, head - kept), head)
            self._warn_once(ring, "low_space", pages.skipped_low_space,
                            "%s: /dev/shm is nearly full; its stored pages stay resident (a page given back "
                            "would have to be taken again)")
            self._warn_once(ring, "errors", pages.errors, "%s: punching stored pages failed; they stay resident")

    def _warn_once(self, ring: Ring, kind: str, count: int, message: str) -> None:
        if count and (ring.name, kind) not in self._warned:
            self._warned.add((ring.name, kind))
            log.warning(message, ring.name)
