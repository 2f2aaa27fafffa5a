"""Where each spilled batch not yet replayed is: a queue of fixed numpy rows, not one Python object per batch.

A long outage with small batches leaves a million entries; as rows of ``ENTRY``
(56 bytes each) they cost 56 MB, where dataclass objects cost several hundred
bytes apiece. Table and ring names are kept once each and referred to by number.
Entries are appended at the back and released from the front (replay is in
order); the array doubles when full and is packed when half of it is released.
"""
from __future__ import annotations

import numpy as np

ENTRY = np.dtype(
    [
        ("segment", "<u4"),
        ("table", "<u2"),   # index into SpillIndex.names
        ("ring", "<u2"),    # index into SpillIndex.names
        ("offset", "<u8"),
        ("size", "<u8"),
        ("batch_id", "<u8"),
        ("rows", "<i8"),
        ("incarnation", "<i8"),
        ("end", "<i8"),
    ]
)


class SpillIndex:
    """A FIFO of ``ENTRY`` rows with running totals of rows."""

    def __init__(self, capacity: int = 1024):
        self._items = np.zeros(capacity, ENTRY)
        self._head = self._tail = 0
        self.rows = 0
        self.names: list[str] = []
        self._name_ids: dict[str, int] = {}

    def __len__(self) -> int:
        return self._tail - self._head

    def name_id(self, name: str) -> int:
        """The number of a table or ring name (names are few: one per ring and table)."""
        number = self._name_ids.get(name)
        if number is None:
            number = self._name_ids[name] = len(self.names)
            self.names.append(name)
        return number

    def push(self, segment: int, offset: int, size: int, batch_id: int, table: str, rows: int, ring: str,
             incarnation: int, end: int) -> None:
        if self._tail == len(self._items):
            self._grow()
        self._items[self._tail] = (segment, self.name_id(table), self.name_id(ring), offset, size, batch_id, rows,
                                   incarnation, end)
        self._tail += 1
        self.rows += rows

    def _grow(self) -> None:
        live = self.view()
        size = max(1024, 2 * len(live))
        items = np.zeros(size, ENTRY)
        items[: len(live)] = live
        self._items, self._head, self._tail = items, 0, len(live)

    def view(self) -> np.ndarray:
        """The entries, oldest first (a view: valid until the next push or pop)."""
        return self._items[self._head : self._tail]

    def first(self) -> np.void:
        return self._items[self._head]

    def pop(self, count: int = 1) -> np.ndarray:
        """Release the ``count`` oldest entries; return them (a copy)."""
        gone = self._items[self._head : self._head + count].copy()
        self._head += len(gone)
        self.rows -= int(gone["rows"].sum())
        if self._head == self._tail:
            self._head = self._tail = 0
        elif self._head > len(self._items) // 2 and len(self._items) > 1024:
            self._grow()  # packs (and shrinks when mostly released)
        return gone

    def count_in(self, segment: int) -> int:
        """How many entries at the front are in ``segment`` (segments are in order)."""
        segments = self.view()["segment"]
        return int(np.searchsorted(segments, segment, side="right") - np.searchsorted(segments, segment, side="left"))
