"""The venue parsers' shared ``parse``: a hot path for usual frames, the careful path on any doubt."""
from __future__ import annotations

from typing import Callable

import orjson

from feeds.trade import Trade
from feeds.venue_form import ParserOutboxes

_loads, _JSONDecodeError = orjson.loads, orjson.JSONDecodeError


class HotPathParser(ParserOutboxes):
    """A venue ``Parser`` whose ``parse`` decodes a frame and gives it to the venue's hot path.

    First, where the venue has one and it is built, the compiled scanner (``scanned``: feeds/_scan.c,
    feeds/compiled.py) reads a usual trade frame straight from its bytes: the same trades ``usual`` builds;
    on any doubt it says None and the frame goes the Python way below.

    ``usual(msg)`` (a venue module's ``_usual``) builds a usual trade frame's trades inline when
    every field has its usual type and range, and says None on any doubt; then, or when the frame
    is not JSON, the careful path (each venue's ``parse_careful``, or ``careful`` given the decoded
    frame) converts each field in turn and says what is wrong: the same trades, or the same error.
    Only other or bad frames (acks, heartbeats, replays, hostile input) take it;
    tests/unit/test_parse_fast_paths.py compares the two paths.
    """

    usual: Callable[[object], list[Trade] | None]  # a staticmethod (or a method, for per-parser state)
    scanned: Callable[[object], list[Trade] | None] | None = None  # the venue's compiled scanner (feeds/compiled.py)

    def parse(self, frame: str | bytes) -> list[Trade]:
        scanned = self.scanned
        if scanned is not None:
            trades = scanned(frame)
            if trades is not None:
                return trades
        try:
            msg = _loads(frame)  # load_json, inlined
        except _JSONDecodeError:
            return self.parse_careful(frame)  # says it is not JSON
        trades = self.usual(msg)
        if trades is not None:
            return trades
        return self.careful(msg, frame)

    def careful(self, msg: object, frame: str | bytes) -> list[Trade]:
        """The careful path of a frame already decoded as ``msg``: ``parse_careful`` (decodes it again)
        unless the venue has one that takes ``msg`` (frequent non-trade frames: heartbeats, acks)."""
        return self.parse_careful(frame)
