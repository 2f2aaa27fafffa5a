"""Normalized trades -> tick records in the exchange's ring, with gap and duplicate checks.

Per trade: the symbol becomes an id (symbol directory, cached), the trade id a
u64 (the id itself when it is a decimal integer; a UUID exactly, in two words;
else a stable 64-bit hash),
and the feed's own ``seq`` counts ticks written. Where the venue numbers trades
consecutively per symbol (``Trade.seq``), a jump flags the next tick with
FLAG_GAP and is counted; a number already seen (the overlap of two connections
during a switch) is a duplicate and dropped.

Duplicates without sequence numbers: trades a venue replays on subscribe are
used (flagged FLAG_REPLAY) only if they are newer than the last live trade of
their symbol — by sequence where there is one, else by exchange time (a replay
at exactly the last live trade's time is dropped: it cannot be told apart).
While two connections overlap (``overlap``), trade ids seen are remembered
per symbol and repeats are dropped.

Hot path: the session hands over a whole socket read's frames at once
(``add_frames``). Live frames in which nothing needs a decision are packed by
the compiled loop (feeds/_stage.c, where built: feeds/compiled.py), which hands
each other frame to the per-tick loop below; without it, a long run of them is
staged as columns (feeds/tick_columns.py), and otherwise, and for short runs,
the per-tick loop packs one record at a time. A frame of one trade (light
traffic, a read per frame: ``add_one``) is packed straight into its ring slot
when nothing needs a decision, without staging (``record_pusher``); a
flush copies the staged records' bytes into the ring (``bytes_pusher``,
shm/plain_ring.py). No NumPy: a feed process never imports it (issue 12). Venues
whose ``seq`` is the numeric trade id (``seq_is_trade_id``) skip turning the
id's text back into an int.

Bad input never escapes: a trade that breaks a plausibility rule
(feeds/plausible.py), names a symbol not subscribed, too long for the symbol
directory's key or new while the directory is full is dropped and counted per
kind; a frame whose staging fails for any other reason is dropped whole
(``tick_writer``), and the frames before and after it are staged as usual.
Symbols take the venue's canonical form (feeds/canonical.py): case and Unicode
variants of a subscribed symbol are that symbol.
"""
from __future__ import annotations

import hashlib
import re
import time

from feeds.canonical import canonical_symbol
from feeds.compiled import stage as compiled_stage
from feeds.events import RateLimitedLog
from feeds.metrics import FeedMetrics
from feeds.plausible import UNCHECKED, Limits, broken_rule
from feeds.tick_columns import COLUMNS_MIN_FRAMES, ColumnStager
from feeds.trade import Trade, shown
from shm.record_forms import TICK_STRUCT
from shm.records import EXCHANGE_IDS, FLAG_GAP, FLAG_TRADE_UUID, uuid_words
from shm.symbols import ENTRY_BYTES, SymbolDirectory, SymbolDirectoryFull

_RECORD = TICK_STRUCT  # "<qqddQQIHbBQ": the TICK layout (shm/records.py, shm/record_forms.py)
_U64_MAX = (1 << 64) - 1
STAGING_TICKS = 1 << 14
_NO_TIME = 1 << 62  # "no live trade yet": every replay is older than it
_MAX_ID_DIGITS = 20  # the longest u64 in decimal; longer digit text is hashed like any other text
_FULL_RETRY_S = 1.0  # a full symbol directory is asked again for a new symbol at most this often
_MAX_KEY_BYTES = ENTRY_BYTES - 1  # a symbol directory key, "exchange:symbol" in UTF-8
_UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _hash(trade_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(trade_id.encode(), digest_size=8).digest(), "little")


def trade_id_words(trade_id: str) -> tuple[int, int, int]:
    """The venue's trade id as a tick's (trade_id, trade_id_lo, flag): a decimal number that fits u64 as
    itself; a UUID exactly, in two words with FLAG_TRADE_UUID (shm/records.py); other text as a stable hash."""
    if len(trade_id) <= _MAX_ID_DIGITS and trade_id.isascii() and trade_id.isdigit():
        number = int(trade_id)
        if number <= _U64_MAX:
            return number, 0, 0
    elif len(trade_id) == 36 and _UUID_FORM.fullmatch(trade_id):
        key, low = uuid_words(int(trade_id.replace("-", ""), 16))
        return key, low, FLAG_TRADE_UUID
    return _hash(trade_id), 0, 0


def trade_id_u64(trade_id: str) -> int:
    """A trade id that fits one word (a number, or the hash of text); ValueError for a UUID, which takes two."""
    if len(trade_id) <= _MAX_ID_DIGITS and trade_id.isascii() and trade_id.isdigit():
        number = int(trade_id)
        if number <= _U64_MAX:
            return number
    elif len(trade_id) == 36 and _UUID_FORM.fullmatch(trade_id):
        raise ValueError("a UUID trade id takes two words (trade_id_words)")
    return _hash(trade_id)


class TickWriter:
    """Writes one exchange's trades into its tick ring."""

    def __init__(self, exchange: str, ring, symbols: SymbolDirectory, metrics: FeedMetrics,
                 subscribed: list[str], on_gap=None, seq_is_trade_id: bool = False, limits: Limits = UNCHECKED,
                 symbol_case: str = "upper", warnings: RateLimitedLog | None = None):
        """``limits``: the plausibility rules (UNCHECKED: none, for old or synthetic trades); ``symbol_case``:
        the venue's canonical symbol form; ``warnings``: where rejected trades are logged (rate-limited).
        ``ring``: the tick ring, a producer without Numba (shm/plain_ring.py) or any ring with ``push_batch``."""
        self.exchange = exchange
        self.exchange_id = EXCHANGE_IDS[exchange]
        self.ring, self.directory, self.metrics = ring, symbols, metrics
        self._values = metrics.values  # add_one's counters, one lookup nearer
        self._staging = bytearray(STAGING_TICKS * _RECORD.size)
        self.staged_ticks = 0  # records in the staging area, not yet in the ring (``flush`` pushes them)
        self._seq = ring.head  # the feed's tick counter continues across restarts
        self.limits, self.symbol_case, self.warnings = limits, symbol_case, warnings
        # add_one's plausibility bounds as scalars (Limits.bounds without the call and the tuple)
        oldest, newest, self._min_price, self._max_price, self._min_size, self._max_size = limits.bounds(0)
        self._behind_ns, self._ahead_ns = -oldest, newest
        # add_one packs straight into the ring's slots; flush copies the staged bytes
        plain = getattr(ring, "pushes_records", False)
        self._push = ring.record_pusher(_RECORD) if plain else None
        self._push_bytes = ring.bytes_pusher() if plain else None
        self._staged_bytes = memoryview(self._staging)
        self._allowed = {canonical_symbol(symbol_case, s) for s in subscribed}
        self._symbols: dict[str, list] = {}  # symbol as written -> [id, last venue seq (-1: none), last exchange time]
        self._canonical: dict[str, list] = {}  # canonical symbol -> the same lists
        self._full_until: dict[str, float] = {}  # canonical symbol -> when to ask the full directory again
        self._variants_max = 4 * len(self._allowed) + 64  # spellings remembered (a hostile venue has endless ones)
        self.overlap: set | None = None  # (symbol, trade id) seen while two connections overlap
        self._on_gap = on_gap  # callback(symbol, symbol_id, missing)
        self.seq_is_trade_id = seq_is_trade_id  # the venue's seq is its numeric trade id: skip text -> u64
        self._columns = ColumnStager(seq_is_trade_id, trade_id_u64)
        self._compiled = compiled_stage.stage if compiled_stage is not None else None  # feeds/_stage.c, where built
        for symbol in sorted(self._allowed):
            if len(f"{exchange}:{symbol}".encode()) > _MAX_KEY_BYTES:
                self._reject("bad_symbol", f"{exchange}: subscribed symbol {symbol!r} does not fit the symbol "
                                           f"directory's {_MAX_KEY_BYTES}-byte key: its trades will be dropped",
                             count=False)

    def add_one(self, trade: Trade, recv_ns: int) -> None:
        """A frame of one live trade (light traffic: a wakeup each): ``add([trade], recv_ns)`` then ``flush``,
        in fewer steps. When nothing needs a decision (nothing staged, no overlap, the symbol known, the
        trade plausible, its seq following on) the record is packed straight into the ring
        (``Ring.record_pusher``): the same bytes, counters and state; anything else, and any error, goes
        the general way (staged, written at the loop's ``flush``) with nothing changed."""
        push = self._push
        if push is not None and not self.staged_ticks and self.overlap is None:
            try:
                symbol, price, size, side, ts_ns, trade_id, flags, seq, span = trade
                known = self._symbols[symbol]
                if (recv_ns - self._behind_ns <= ts_ns <= recv_ns + self._ahead_ns
                        and self._min_price <= price <= self._max_price and self._min_size <= size <= self._max_size):
                    last = known[1]
                    if seq < 0 or last < 0 or 0 < seq - last <= span:  # no sequence, or no gap and no repeat
                        if self.seq_is_trade_id and 0 <= seq <= _U64_MAX:
                            ident, ident_lo, id_flag = seq, 0, 0
                        elif (type(trade_id) is str and len(trade_id) <= _MAX_ID_DIGITS and trade_id.isdigit()
                              and trade_id.isascii() and (ident := int(trade_id)) <= _U64_MAX):
                            ident_lo = id_flag = 0  # trade_id_words' common case, inlined
                        else:
                            ident, ident_lo, id_flag = trade_id_words(trade_id)
                        values = self._values
                        if not push((ts_ns, recv_ns, price, size, ident, self._seq, known[0], self.exchange_id, side,
                                     flags | id_flag, ident_lo)):
                            values["ring_dropped"] += 1
                        known[2] = ts_ns
                        if seq >= 0:
                            known[1] = seq
                        self._seq += 1
                        values["ticks"] += 1
                        return
            except Exception:  # an unknown or unhashable symbol, a field of another type or range: the general way
                pass
        self._stage_each(((trade,),), recv_ns, 0)

    def add(self, trades: list[Trade], recv_ns: int, extra_flags: int = 0) -> None:
        """Stage the ticks of one frame (all or none of them, so a frame is never split)."""
        self.add_frames((trades,), recv_ns, extra_flags)

    def add_frames(self, frames: list[list[Trade]], recv_ns: int, extra_flags: int = 0) -> None:
        """Stage the ticks of several frames, in order: the same as one ``add`` per frame.

        Live frames (no extra flags, no overlap) go through the compiled loop
        (feeds/_stage.c, where built). Without it, a long run of live frames is
        offered to the column stager; the per-tick loop takes whatever it
        declines (it then has changed nothing).
        """
        compiled = self._compiled
        if compiled is not None and not extra_flags and self.overlap is None:
            self._stage_compiled(compiled, frames, recv_ns)
            return
        if not extra_flags and self.overlap is None and len(frames) >= COLUMNS_MIN_FRAMES:
            staged = self._columns.stage(frames, self._staging, self.staged_ticks, self._seq, recv_ns, self.exchange_id,
                                         self.limits.bounds(recv_ns))
            if staged:
                self.staged_ticks += staged
                self._seq += staged
                self.metrics.values["ticks"] += staged
                return
        self._stage_each(frames, recv_ns, extra_flags)

    def stage_decided(self, trades: list[Trade], recv_ns: int) -> None:
        """A live frame's trades through the per-tick loop alone: the compiled read loop hands over each frame
        whose trades need a decision (feeds/pumped.py); the same as ``add`` would do with it."""
        self._stage_each((trades,), recv_ns, 0)

    def _stage_compiled(self, compiled, frames: list[list[Trade]], recv_ns: int) -> None:
        """Live frames through the compiled loop (feeds/_stage.c); each frame it stops at (one that needs a
        decision: a new symbol, a gap, a repeat, an implausible trade, a full staging area) goes through the
        per-tick loop alone, then the compiled loop goes on after it."""
        bounds, total, start = self.limits.bounds(recv_ns), len(frames), 0
        while True:
            staged = self.staged_ticks
            start, count, tick_seq = compiled(frames, start, self._staging, staged, self._seq, recv_ns, self.exchange_id,
                                              bounds, self._symbols, self.seq_is_trade_id, STAGING_TICKS)
            self.staged_ticks, self._seq = count, tick_seq
            self.metrics.values["ticks"] += count - staged
            if start >= total:
                return
            self._stage_each((frames[start],), recv_ns, 0)
            start += 1

    def _stage_each(self, frames: list[list[Trade]], recv_ns: int, extra_flags: int) -> None:
        """The per-tick loop: symbol ids, plausibility, replay/overlap/sequence checks, one packed record per tick.

        One ``try`` per frame (not per tick): a frame that fails is rolled back and counted, the next goes on.
        """
        pack, staging, values, known_symbols = _RECORD.pack_into, self._staging, self.metrics.values, self._symbols
        overlap, exchange_id, ids_from_seq = self.overlap, self.exchange_id, self.seq_is_trade_id
        bounds = self.limits.bounds(recv_ns)
        oldest, newest, min_price, max_price, min_size, max_size = bounds
        count = staged = frame_start = self.staged_ticks
        tick_seq = frame_seq = self._seq
        try:
            for trades in frames:
                frame_start, frame_seq = count, tick_seq
                if count + len(trades) > STAGING_TICKS:
                    self.staged_ticks = count
                    values["ticks"] += count - staged
                    staged = count
                    self.flush()
                    count = staged = frame_start = 0
                    if len(trades) > STAGING_TICKS:  # one frame larger than the staging area: in pieces
                        self._seq = tick_seq
                        try:
                            for first in range(0, len(trades), STAGING_TICKS):
                                self._stage_each((trades[first : first + STAGING_TICKS],), recv_ns, extra_flags)
                        finally:  # the pieces keep their own books
                            count = staged = frame_start = self.staged_ticks
                            tick_seq = self._seq
                        continue
                try:
                    for trade in trades:
                        symbol, price, size, side, ts_ns, trade_id, flags, seq, span = trade
                        try:
                            known = known_symbols[symbol]  # [symbol id, last venue seq, last exchange time]
                        except (KeyError, TypeError):  # TypeError: a symbol that is not text (unhashable)
                            known = self._register(symbol)
                            if known is None:
                                continue  # counted and logged by _register
                        if not (oldest <= ts_ns <= newest and min_price <= price <= max_price
                                and min_size <= size <= max_size):
                            self._implausible(bounds, trade, recv_ns)
                            continue
                        if extra_flags and seq < 0 and ts_ns <= known[2]:
                            values["duplicates"] += 1  # a replay of what we already have (or cannot tell)
                            continue
                        if overlap is not None and seq < 0:
                            key = (symbol, trade_id)
                            if key in overlap:
                                values["duplicates"] += 1
                                continue
                            overlap.add(key)
                        known[2] = ts_ns
                        if seq >= 0:
                            last = known[1]
                            if last >= 0:
                                if seq <= last:
                                    values["duplicates"] += 1
                                    continue
                                if seq - last > span:
                                    missing = seq - span - last
                                    flags |= FLAG_GAP
                                    values["gaps"] += 1
                                    values["gap_trades"] += missing
                                    if self._on_gap is not None:
                                        self._on_gap(symbol, known[0], missing)
                            known[1] = seq
                        if ids_from_seq and 0 <= seq <= _U64_MAX:
                            ident, ident_lo, id_flag = seq, 0, 0
                        elif (type(trade_id) is str and len(trade_id) <= _MAX_ID_DIGITS and trade_id.isdigit()
                              and trade_id.isascii() and (ident := int(trade_id)) <= _U64_MAX):
                            ident_lo = id_flag = 0  # trade_id_words' common case, inlined
                        else:
                            ident, ident_lo, id_flag = trade_id_words(trade_id)
                        pack(staging, count * 64, ts_ns, recv_ns, price, size, ident, tick_seq, known[0], exchange_id,
                             side, flags | extra_flags | id_flag, ident_lo)
                        count += 1
                        tick_seq += 1
                except Exception as exc:  # anything else wrong with this frame's data: drop the frame, go on
                    count, tick_seq = frame_start, frame_seq
                    self._reject("tick_writer", f"{self.exchange}: dropped a frame of {len(trades)} trade(s): "
                                                f"{type(exc).__name__}: {shown(exc)} (first trade {shown(trades[:1])})")
        except BaseException:  # interrupted: as if added frame by frame, the frame in progress is not staged
            self.staged_ticks = frame_start
            self._seq = frame_seq
            values["ticks"] += frame_start - staged
            raise
        self._seq = tick_seq
        self.staged_ticks = count
        values["ticks"] += count - staged

    def _implausible(self, bounds: tuple, trade: Trade, recv_ns: int) -> None:
        kind = broken_rule(bounds, trade[1], trade[2], trade[4])
        self._reject(kind, f"{self.exchange}: dropped {shown(trade[0])} trade {shown(trade[5])}: {kind} (price "
                           f"{shown(trade[1])}, size {shown(trade[2])}, exchange time {shown(trade[4])} ns, "
                           f"received {recv_ns} ns)")

    def _reject(self, kind: str, message: str, count: bool = True) -> None:
        """Count one dropped trade or frame of ``kind`` and log it (rate-limited per kind)."""
        if count:
            self.metrics.error(kind)
        if self.warnings is not None:
            self.warnings.warning(kind, message)

    def flush(self) -> None:
        """Push the staged ticks as one batch; what the ring cannot take is counted as dropped."""
        count = self.staged_ticks
        if count:
            if self._push_bytes is not None:
                accepted = self._push_bytes(self._staged_bytes, count)
            else:  # a ring with NumPy (no plain stores on this CPU; tests' rings)
                import numpy as np

                from shm.records import TICK

                accepted = self.ring.push_batch(np.frombuffer(self._staging, TICK, count))
            if accepted != count:
                self.metrics.values["ring_dropped"] += count - accepted
            self.staged_ticks = 0  # records in the staging area, not yet in the ring (``flush`` pushes them)

    def _register(self, symbol: str) -> list | None:
        """A symbol spelled as never before: its entry (by its canonical form; the id from the directory when
        that form is new); None, counted and logged, if it is not subscribed or cannot get an id."""
        if type(symbol) is not str:
            self._reject("unknown_symbol", f"{self.exchange}: a trade whose symbol is not text: {shown(symbol)}")
            return None
        canonical = canonical_symbol(self.symbol_case, symbol)
        known = self._canonical.get(canonical)
        if known is None:
            if canonical not in self._allowed:
                self._reject("unknown_symbol", f"{self.exchange}: a trade for {shown(symbol)}, not subscribed")
                return None
            if len(f"{self.exchange}:{canonical}".encode()) > _MAX_KEY_BYTES:
                self._reject("bad_symbol", f"{self.exchange}: symbol {shown(canonical)} does not fit the symbol "
                                           f"directory's {_MAX_KEY_BYTES}-byte key")
                return None
            if time.monotonic() < self._full_until.get(canonical, 0.0):  # asked the directory a moment ago
                self._reject("directory_full", f"{self.exchange}: no id for {canonical!r}: the directory is full")
                return None
            try:
                symbol_id = self.directory.id_of(self.exchange, canonical)
            except SymbolDirectoryFull as exc:  # ids are never reused: known symbols go on, new ones wait
                self._full_until[canonical] = time.monotonic() + _FULL_RETRY_S  # not a flock per trade
                self._reject("directory_full", f"{self.exchange}: no id for {canonical!r}, trade dropped: {exc}")
                return None
            known = [symbol_id, -1, _NO_TIME]
            self._canonical[canonical] = known
            self._columns.known(canonical, known)
        if symbol == canonical or len(self._symbols) < self._variants_max:
            self._symbols[symbol] = known
        return known
