"""Staging a large batch of trades column by column instead of tick by tick, without NumPy.

At full rate a socket read holds thousands of frames; the TickWriter's per-tick
loop (duplicate, gap and replay checks, then one ``struct.pack_into``) costs
about 2 µs a tick in the interpreter. Most batches need none of its decisions:
every symbol is known, and each symbol's sequence numbers follow on from the
last one without a gap or a repeat (or the venue has none). ``ColumnStager``
checks that with builtins that loop in C over whole columns (``zip``, ``min``,
``max``, ``sorted``, ``map``; a feed never imports NumPy, issue 12) and, if so,
packs the records with one ``map`` of ``pack_into`` (faster than ``array``
columns copied into strided views of the staging area, measured), leaving
exactly what the loop would have left. Anything else (a gap, a duplicate, a new symbol, a value
out of range or of another type, a trade outside the plausibility bounds)
returns 0 before any count or symbol state is changed, and the loop stages the
batch with its usual care (and counts what it drops).
"""
from __future__ import annotations

from collections import Counter, deque
from itertools import chain, repeat
from operator import le, sub

from feeds.trade import Trade
from shm.record_forms import TICK_STRUCT

COLUMNS_MIN_FRAMES = 256  # below this the columns' per-call costs outweigh the loop's per-tick cost
_PACK, _SIZE = TICK_STRUCT.pack_into, TICK_STRUCT.size


class ColumnStager:
    """Column staging for one TickWriter: its symbols (``known``) and its trade id rule."""

    def __init__(self, seq_is_trade_id: bool, trade_id_u64):
        self._slot_of: dict[str, int] = {}  # symbol -> its row in the tables below
        self._rows: list[list] = []  # slot -> the symbol's ``known`` list
        self._symbol_ids: list[int] = []  # slot -> symbol id
        self._seq_is_trade_id = seq_is_trade_id
        self._u64 = trade_id_u64  # the writer's text id -> u64 (ValueError for a UUID: the loop packs two words)

    def known(self, symbol: str, entry: list) -> None:
        """A symbol the writer has just registered (one whose id does not fit stays with the loop)."""
        if 0 <= entry[0] <= 0xFFFF_FFFF:
            self._slot_of[symbol] = len(self._rows)
            self._rows.append(entry)
            self._symbol_ids.append(entry[0])

    def stage(self, frames: list[list[Trade]], staging: bytearray, count: int, first_seq: int,
              recv_ns: int, exchange_id: int, bounds: tuple) -> int:
        """Pack the ticks of ``frames`` as records ``count`` on of ``staging``; how many, or 0 (no count or symbol
        state changed) if the loop must decide: the staging area would fill, a symbol is new, a sequence skips
        or repeats, a trade is outside ``bounds`` (feeds/plausible.py ``Limits.bounds``: a few reductions)."""
        try:
            symbols, prices, sizes, sides, times, trade_ids, flags, seqs, spans = zip(*chain.from_iterable(frames))
            n = len(symbols)
            if (count + n) * _SIZE > len(staging):
                return 0
            if not self._seq_is_trade_id:
                self._u64(trade_ids[0])  # a venue of UUID ids: ValueError now, before any column is built
            slots = list(map(self._slot_of.__getitem__, symbols))
            oldest, newest, min_price, max_price, min_size, max_size = bounds
            if not (oldest <= min(times) and max(times) <= newest
                    and min_price <= min(prices) and max(prices) <= max_price
                    and min_size <= min(sizes) and max(sizes) <= max_size):
                return 0
            total = sum(prices) + sum(sizes)
            if total != total:  # a NaN that min and max stepped over (or inf - inf): the loop decides
                return 0
            if min(seqs) >= 0:
                lasts = self._follow_on(slots, seqs, spans)  # each symbol's last tick
                if lasts is None:
                    return 0
            elif max(seqs) < 0:
                lasts = None
            else:
                return 0  # a mix: leave it to the loop
            ids = seqs if self._seq_is_trade_id and lasts is not None else map(self._u64, trade_ids)
            deque(map(_PACK, repeat(staging, n), range(count * _SIZE, (count + n) * _SIZE, _SIZE), times,
                      repeat(recv_ns, n), prices, sizes, ids, range(first_seq, first_seq + n),
                      map(self._symbol_ids.__getitem__, slots), repeat(exchange_id, n), sides, flags, repeat(0, n)),
                  maxlen=0)  # a value pack_into refuses raises here: only bytes past ``count`` were written
        except Exception:  # a new symbol, a value of another type or out of range: the loop decides (or raises)
            return 0
        self._remember(slots, lasts, seqs, times)
        return n

    def _follow_on(self, slots: list[int], seqs: tuple, spans: tuple) -> list[tuple[int, int]] | None:
        """If every tick's seq follows its symbol's previous one (``0 < seq - previous <= span``, as the loop
        takes it: no duplicate, no gap), each symbol's (slot, index of its last tick); else None. Compares
        neighbours of a stable sort by symbol."""
        order = sorted(range(len(slots)), key=slots.__getitem__)
        seq_sorted = list(map(seqs.__getitem__, order))
        previous = [0, *seq_sorted]
        lasts, start = [], 0
        for slot, ticks in sorted(Counter(slots).items()):  # each symbol's first tick follows its last known one
            last = self._rows[slot][1]
            previous[start] = last if last >= 0 else seq_sorted[start] - 1  # a first seq: nothing to follow
            start += ticks
            lasts.append((slot, order[start - 1]))
        steps = list(map(sub, seq_sorted, previous))
        if min(steps) <= 0:
            return None
        if max(steps) == 1:  # the common case: consecutive, within any span of at least one
            return lasts if min(spans) >= 1 else None
        return lasts if all(map(le, steps, map(spans.__getitem__, order))) else None

    def _remember(self, slots: list[int], lasts: list[tuple[int, int]] | None, seqs: tuple, times: tuple) -> None:
        """Each symbol's last seq and exchange time, as the loop leaves them (``lasts``: from ``_follow_on``;
        None: the venue has no sequence numbers)."""
        rows = self._rows
        if lasts is None:
            for slot, ts_ns in dict(zip(slots, times)).items():  # a dict keeps each symbol's last
                rows[slot][2] = ts_ns
            return
        for slot, index in lasts:
            row = rows[slot]
            row[1], row[2] = seqs[index], times[index]
