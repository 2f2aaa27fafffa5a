"""The normalized trade that every venue parser produces.

A parser turns one raw text frame into zero or more ``Trade`` values; the feed
loop turns those into fixed-size tick records (shm/records.py) for the ring.
Strings live here, never on the ring: symbols become ids through the symbol
directory, trade ids become u64 (the id itself when numeric, two words with
FLAG_TRADE_UUID when a UUID, else a hash).
"""
from __future__ import annotations

import reprlib
from typing import NamedTuple

from shm.flags import FLAG_SNAPSHOT

BUY = 1  # taker bought (aggressor was the buyer)
SELL = -1  # taker sold
UNKNOWN = 0  # no aggressor (e.g. block trades)

SIDE_NAMES = {BUY: "buy", SELL: "sell", UNKNOWN: "unknown"}


class Trade(NamedTuple):
    """A trade's nine fields, in order. Parsers return each trade as a plain tuple in this order (every field
    given): on the feed's hot path a tuple display costs ~0.06 µs where building a Trade costs ~0.3 µs more (even
    as ``tuple.__new__(Trade, ...)``), and unpacking a NamedTuple ~0.06 µs more (no fast path for tuple subclasses),
    per trade. ``Trade(*trade)`` names a trade's fields where that helps (tools, tests); ``Trade`` in an annotation
    means this shape."""

    symbol: str  # as the exchange writes it
    price: float
    size: float
    side: int  # BUY, SELL or UNKNOWN: the taker's side
    ts_ns: int  # exchange trade time, ns since the epoch
    trade_id: str  # the exchange's own id, as text
    flags: int = 0  # tick flags, FLAG_* in shm/records.py
    seq: int = -1  # venue sequence, consecutive per symbol (-1: the venue has none)
    seq_span: int = 1  # sequence numbers this trade covers (OKX aggregates `count` matches)


def snapshot(trade: tuple) -> tuple:
    """``trade`` flagged as a replay the venue sent on subscribe (FLAG_SNAPSHOT: kept apart, never live)."""
    return (*trade[:6], FLAG_SNAPSHOT, *trade[7:])


class FrameError(ValueError):
    """A frame that cannot be used. ``kind`` is a short counter name
    (``json``, ``missing_field``, ``bad_number``, ``bad_price``, ``venue_error``...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlist, _SHOWN.maxdict = 3, 80, 80, 6, 6
_SHOWN.maxtuple = _SHOWN.maxset = _SHOWN.maxfrozenset = _SHOWN.maxdeque = _SHOWN.maxarray = 6
_SHOWN.maxlong = 40


def shown(value: object) -> str:
    """A short repr of a value from a frame, for messages: bounded in length and depth (a frame nested
    1,000 deep makes ``repr`` raise RecursionError; a 5,000-digit number makes ``str`` raise ValueError)."""
    try:
        return _SHOWN.repr(value)
    except Exception:  # noqa: BLE001 - a message must never fail
        return f"<{type(value).__name__}>"
