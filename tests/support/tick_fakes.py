"""A TickWriter's ring and symbol directory for unit tests that compare staged records."""
from __future__ import annotations


class ListRing:
    """Keeps each pushed batch's bytes (``push_batch``: the NumPy path of TickWriter.flush)."""

    head = 1000

    def __init__(self):
        self.pushed: list[bytes] = []

    def push_batch(self, records) -> int:
        self.pushed.append(records.tobytes())
        return len(records)


class FixedDirectory:
    """Symbol ids AAA 3, BBB 5, CCC 9."""

    def id_of(self, exchange: str, symbol: str) -> int:
        return {"AAA": 3, "BBB": 5, "CCC": 9}[symbol]
