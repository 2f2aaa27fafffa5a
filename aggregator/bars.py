"""OHLCV bars per symbol by exchange time, in Numba, with a lateness allowance.

Each symbol has, per interval, at most two open bars: position NEWER and
position OLDER (the one before, kept open for late ticks). A bar closes when
a later tick of the symbol, or the wall clock, passes its end plus
``lateness_ns`` (which must be shorter than the interval). A tick for a bar
that has already closed is *late*: counted, never merged.

Empty intervals (documented choice): a symbol's 1 min bars have no holes —
when a bar closes after minutes without trades, the missing minutes are
emitted first as empty bars (count 0, open = high = low = close = the previous
close, volumes 0, VWAP NaN), at most ``max_fill`` of them (the most recent).
1 s bars are emitted only for seconds with trades (``max_fill`` = 0): a quiet
symbol would otherwise write 86,400 empty rows a day. A symbol's very first bar
has nothing before it to fill.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

OLDER, NEWER = 0, 1  # the two open-bar positions per slot

# values[slot, position]: one open bar's prices and volumes, 64 bytes together
#
#  0      8      16     24      32       40           48            56   64
#  +------+------+------+-------+--------+------------+-------------+----+
#  | open | high | low  | close | volume | buy_volume | sell_volume | pv |
#  +------+------+------+-------+--------+------------+-------------+----+
BAR_VALUES = np.dtype([
    ("open", "<f8"),
    ("high", "<f8"),
    ("low", "<f8"),
    ("close", "<f8"),
    ("volume", "<f8"),
    ("buy_volume", "<f8"),  # taker-buy size
    ("sell_volume", "<f8"),  # taker-sell size
    ("pv", "<f8"),  # sum of price * size: VWAP = pv / volume
])
EMPTY = -1
NEVER = (1 << 63) - 1  # next_due of a slot without open bars
FLAG_FIRST = 1  # the symbol's first bar since the aggregator started: ticks before the start are not in it


class BarBook(NamedTuple):
    """Open bars of every symbol slot for one interval."""

    start: np.ndarray  # int64 (slots, 2): interval start ns per position (OLDER, NEWER), EMPTY when no bar
    values: np.ndarray  # BAR_VALUES (slots, 2)
    count: np.ndarray  # int64 (slots, 2)
    first_recv: np.ndarray  # int64 (slots, 2)
    last_recv: np.ndarray  # int64 (slots, 2)
    late: np.ndarray  # int64 (slots, 2): late ticks seen while the bar was open
    last_start: np.ndarray  # int64 (slots,): start of the last closed bar (EMPTY: none yet)
    last_close: np.ndarray  # float64 (slots,)
    interval_ns: int
    lateness_ns: int
    max_fill: int  # empty bars emitted at most before a bar that follows a gap


def new_book(slots: int, interval_ns: int, lateness_ns: int, max_fill: int) -> BarBook:
    if not 0 <= lateness_ns < interval_ns:
        raise ValueError(f"lateness must be shorter than the bar interval ({lateness_ns} ns vs {interval_ns} ns)")
    return BarBook(
        start=np.full((slots, 2), EMPTY, np.int64),
        values=np.zeros((slots, 2), BAR_VALUES),
        count=np.zeros((slots, 2), np.int64),
        first_recv=np.zeros((slots, 2), np.int64),
        last_recv=np.zeros((slots, 2), np.int64),
        late=np.zeros((slots, 2), np.int64),
        last_start=np.full(slots, EMPTY, np.int64),
        last_close=np.full(slots, np.nan),
        interval_ns=int(interval_ns),
        lateness_ns=int(lateness_ns),
        max_fill=int(max_fill),
    )


@numba.njit(cache=True, inline="always")
def _open(book, slot, k, start, price, recv_ns):
    # records and direct indexing, no sub-array views: a view costs two atomic refcount operations
    book.start[slot, k] = start
    bar = book.values[slot, k]
    bar.open = price
    bar.high = price
    bar.low = price
    bar.close = price
    bar.volume = 0.0
    bar.buy_volume = 0.0
    bar.sell_volume = 0.0
    bar.pv = 0.0
    book.count[slot, k] = 0
    book.first_recv[slot, k] = recv_ns
    book.late[slot, k] = 0


@numba.njit(cache=True, inline="always")
def _add(book, slot, k, price, size, side, recv_ns):
    bar = book.values[slot, k]
    if price > bar.high:
        bar.high = price
    if price < bar.low:
        bar.low = price
    bar.close = price
    bar.volume += size
    if side > 0:
        bar.buy_volume += size
    elif side < 0:
        bar.sell_volume += size
    bar.pv += price * size
    book.count[slot, k] += 1
    book.last_recv[slot, k] = recv_ns


@numba.njit(cache=True)
def _write(out, n, symbol_id, start, interval_s, values, count, first_recv, last_recv, late, closed_ns, flags):
    row = out[n]
    row.start_ns = start
    row.symbol_id = symbol_id
    row.interval_s = interval_s
    row.open = values.open
    row.high = values.high
    row.low = values.low
    row.close = values.close
    row.volume = values.volume
    row.buy_volume = values.buy_volume
    row.sell_volume = values.sell_volume
    row.vwap = values.pv / values.volume if values.volume > 0.0 else np.nan
    row.count = count
    row.first_recv_ns = first_recv
    row.last_recv_ns = last_recv
    row.closed_ns = closed_ns
    row.late_ticks = late
    row.flags = flags


@numba.njit(cache=True)
def close_bar(book, slot, k, symbol_id, out, n, now_ns) -> int:
    """Emit bar ``k`` of ``slot`` (after the empty bars before it) into ``out[n:]``; return the new n.

    ``out`` must have room for ``1 + max_fill`` rows.
    """
    interval, max_fill = book.interval_ns, book.max_fill
    interval_s = interval // 1_000_000_000
    start = book.start[slot, k]
    previous = book.last_start[slot]
    if previous != EMPTY and max_fill > 0:
        missing = (start - previous) // interval - 1
        first_empty = start - min(missing, max_fill) * interval
        empty = np.empty(1, BAR_VALUES)[0]
        close = book.last_close[slot]
        empty.open = empty.high = empty.low = empty.close = close
        empty.volume = empty.buy_volume = empty.sell_volume = empty.pv = 0.0
        for gap_start in range(first_empty, start, interval):
            _write(out, n, symbol_id, gap_start, interval_s, empty, 0, 0, 0, 0, now_ns, 0)
            n += 1
    flags = FLAG_FIRST if previous == EMPTY else 0
    _write(out, n, symbol_id, start, interval_s, book.values[slot, k], book.count[slot, k],
           book.first_recv[slot, k], book.last_recv[slot, k], book.late[slot, k], now_ns, flags)
    book.last_start[slot] = start
    book.last_close[slot] = book.values[slot, k].close
    book.start[slot, k] = EMPTY
    return n + 1


@numba.njit(cache=True, inline="always")
def add_tick(book, slot, symbol_id, ts_ns, recv_ns, price, size, side, out, n, now_ns):
    """Fold one tick into ``slot``'s bars, closing what it passes. Returns (new n, late?)."""
    interval, lateness = book.interval_ns, book.lateness_ns
    start = ts_ns - ts_ns % interval
    older, newer = book.start[slot, OLDER], book.start[slot, NEWER]
    if older != EMPTY and ts_ns >= older + interval + lateness:
        n = close_bar(book, slot, OLDER, symbol_id, out, n, now_ns)
        older = EMPTY
    if newer == EMPTY:
        if start <= book.last_start[slot]:
            return n, True
        _open(book, slot, NEWER, start, price, recv_ns)
        _add(book, slot, NEWER, price, size, side, recv_ns)
        return n, False
    if start == newer:
        _add(book, slot, NEWER, price, size, side, recv_ns)
        return n, False
    if start > newer:
        if older != EMPTY:
            n = close_bar(book, slot, OLDER, symbol_id, out, n, now_ns)
        if ts_ns >= newer + interval + lateness:
            n = close_bar(book, slot, NEWER, symbol_id, out, n, now_ns)
        else:  # the newer bar becomes the older one, still open for late ticks
            book.start[slot, OLDER] = newer
            book.values[slot, OLDER] = book.values[slot, NEWER]
            book.count[slot, OLDER] = book.count[slot, NEWER]
            book.first_recv[slot, OLDER] = book.first_recv[slot, NEWER]
            book.last_recv[slot, OLDER] = book.last_recv[slot, NEWER]
            book.late[slot, OLDER] = book.late[slot, NEWER]
        _open(book, slot, NEWER, start, price, recv_ns)
        _add(book, slot, NEWER, price, size, side, recv_ns)
        return n, False
    if older != EMPTY and start == older:
        _add(book, slot, OLDER, price, size, side, recv_ns)
        return n, False
    book.late[slot, NEWER] += 1
    return n, True


@numba.njit(cache=True)
def due(book, slot, now_ns) -> bool:
    """Whether the wall clock has passed the end (plus lateness) of ``slot``'s oldest open bar."""
    interval, lateness = book.interval_ns, book.lateness_ns
    for k in range(OLDER, NEWER + 1):  # oldest first
        start = book.start[slot, k]
        if start != EMPTY:
            return now_ns >= start + interval + lateness
    return False


@numba.njit(cache=True)
def next_due(book, slot) -> int:
    """When the wall clock will have passed the end (plus lateness) of ``slot``'s oldest open bar; NEVER: none open."""
    for k in range(OLDER, NEWER + 1):  # oldest first
        start = book.start[slot, k]
        if start != EMPTY:
            return start + book.interval_ns + book.lateness_ns
    return NEVER


@numba.njit(cache=True)
def close_due(book, slot, symbol_id, out, n, now_ns) -> int:
    """Close every bar of ``slot`` whose end plus lateness the wall clock has passed."""
    interval, lateness = book.interval_ns, book.lateness_ns
    for k in range(OLDER, NEWER + 1):  # oldest first
        start = book.start[slot, k]
        if start != EMPTY and now_ns >= start + interval + lateness:
            n = close_bar(book, slot, k, symbol_id, out, n, now_ns)
    return n
