"""Staging a large batch of trades column by column (numpy) instead of tick by tick.

At full rate a socket read holds thousands of frames; the TickWriter's per-tick
loop (duplicate, gap and replay checks, then one ``struct.pack_into``) costs
about 2 µs a tick in the interpreter. Most batches need none of its decisions:
every symbol is known, and each symbol's sequence numbers follow on from the
last one without a gap or a repeat (or the venue has none). ``ColumnStager``
checks that with a few array operations and, if so, writes the records as
columns, leaving exactly what the loop would have left. Anything else
(a gap, a duplicate, a new symbol, a value out of range, a trade outside the
plausibility bounds) returns 0 before anything is changed, and the loop stages
the batch with its usual care (and counts what it drops).
"""
from __future__ import annotations

import struct
from itertools import chain

import numpy as np

from feeds.trade import Trade

COLUMNS_MIN_FRAMES = 256  # below this numpy's per-call cost outweighs the loop's per-tick cost


class ColumnStager:
    """Column staging for one TickWriter: its symbols (``known``) and its trade id rule."""

    def __init__(self, seq_is_trade_id: bool, trade_id_u64):
        self._slot_of: dict[str, int] = {}  # symbol -> its row in the tables below
        self._rows: list[list] = []  # slot -> the symbol's ``known`` list
        self._symbol_ids = np.zeros(0, np.uint32)  # slot -> symbol id
        self._seq_is_trade_id = seq_is_trade_id
        self._u64 = trade_id_u64  # the writer's text id -> u64 (ValueError for a UUID: the loop packs two words)

    def known(self, symbol: str, entry: list) -> None:
        """A symbol the writer has just registered (one whose id does not fit stays with the loop)."""
        if 0 <= entry[0] <= 0xFFFF_FFFF:
            self._slot_of[symbol] = len(self._rows)
            self._rows.append(entry)
            self._symbol_ids = np.append(self._symbol_ids, np.uint32(entry[0]))

    def stage(self, frames: list[list[Trade]], records: np.ndarray, count: int, first_seq: int,
              recv_ns: int, exchange_id: int, bounds: tuple) -> int:
        """Write the ticks of ``frames`` to ``records[count:]``; how many, or 0 (nothing changed) if the
        loop must decide: the staging area would fill, a symbol is new, a sequence skips or repeats, a
        trade is outside ``bounds`` (feeds/plausible.py ``Limits.bounds``: a few reductions per run)."""
        trades = list(chain.from_iterable(frames))
        n = len(trades)
        if not n or count + n > len(records):
            return 0
        try:
            if not self._seq_is_trade_id:
                self._u64(trades[0][5])  # a venue of UUID ids: ValueError now, before any column is built
            symbols, prices, sizes, sides, times, trade_ids, flags, seqs, spans = zip(*trades)
            slots = np.fromiter(map(self._slot_of.__getitem__, symbols), np.intp, n)
            seq, ts_ns, spans = _column(seqs, "q"), _column(times, "q"), _column(spans, "q")
            columns = (_column(prices, "d"), _column(sizes, "d"), _column(sides, "b"), _column(flags, "B"))
            oldest, newest, min_price, max_price, min_size, max_size = bounds
            price_column, size_column = columns[0], columns[1]
            if not (oldest <= ts_ns.min() and ts_ns.max() <= newest  # NaN compares False: the loop decides
                    and min_price <= price_column.min() and price_column.max() <= max_price
                    and min_size <= size_column.min() and size_column.max() <= max_size):
                return 0
            if seq.min() >= 0:
                order, last = self._follow_on(slots, seq, spans)
                if order is None:
                    return 0
            elif seq.max() < 0:
                order, last = np.argsort(slots, kind="stable"), None
            else:
                return 0  # a mix: leave it to the loop
            ids = seq if self._seq_is_trade_id and last else np.fromiter(map(self._u64, trade_ids), np.uint64, n)
        except Exception:  # a new symbol, a value of another type or out of range: the loop decides (or raises)
            return 0
        rows = records[count:count + n]
        rows["ts_exchange_ns"] = ts_ns
        rows["ts_recv_ns"] = recv_ns
        rows["price"], rows["size"], rows["side"], rows["flags"] = columns
        rows["trade_id"] = ids
        rows["seq"] = np.arange(first_seq, first_seq + n, dtype=np.uint64)
        rows["symbol_id"] = self._symbol_ids[slots]
        rows["exchange_id"] = exchange_id
        rows["trade_id_lo"] = 0
        self._remember(slots, order, seq if last is not None else None, ts_ns)
        return n

    def _follow_on(self, slots: np.ndarray, seq: np.ndarray, spans: np.ndarray):
        """(stable order by symbol, True) if every tick's seq follows its symbol's previous one
        (``0 < seq - previous <= span``, as the loop takes it: no duplicate, no gap); (None, None) if not."""
        order = np.argsort(slots, kind="stable")
        by_slot, seq_sorted = slots[order], seq[order]
        previous = np.empty_like(seq_sorted)
        previous[1:] = seq_sorted[:-1]
        starts = np.flatnonzero(np.diff(by_slot, prepend=-1))
        for start in starts.tolist():
            last = self._rows[by_slot[start]][1]
            previous[start] = last if last >= 0 else seq_sorted[start] - 1  # a symbol's first seq: nothing to follow
        step = seq_sorted - previous
        if not (step > 0).all() or not (step <= spans[order]).all():
            return None, None
        return order, True

    def _remember(self, slots: np.ndarray, order: np.ndarray, seq: np.ndarray | None, ts_ns: np.ndarray) -> None:
        """Each symbol's last seq and exchange time, as the loop leaves them."""
        by_slot = slots[order]
        ends = np.flatnonzero(np.diff(by_slot, append=-1))
        for end in ends.tolist():
            index = int(order[end])
            row = self._rows[by_slot[end]]
            row[2] = int(ts_ns[index])
            if seq is not None:
                row[1] = int(seq[index])


_DTYPES = {"q": np.dtype("<i8"), "d": np.dtype("<f8"), "b": np.dtype("i1"), "B": np.dtype("u1")}


def _column(values: tuple, code: str) -> np.ndarray:
    """``values`` as an array, converted by ``struct`` with the same code (and so the same
    rules: no text for a float, no float for an int, range checked) as ``TickWriter.add``."""
    return np.frombuffer(struct.pack(f"<{len(values)}{code}", *values), _DTYPES[code])
