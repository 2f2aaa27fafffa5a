"""Store symbol ids: the writer turns a run's shared-memory symbol ids into ids stable for the life of the store.

The group's symbol directory (/dev/shm/tickagg.<group>.symbols, shm/symbols.py) hands out ids in
registration order and is gone after a reboot or `tickagg rings --remove`: its ids are handles for one
run of the group (feeds, aggregator). At the store boundary the writer rewrites every ``symbol_id``
(ticks, bars_1s, bars_1m, features, regime, events) to the *store id* of the same (exchange, symbol):
one ``numpy.take`` per batch on an array run id -> store id, grown when the directory grows.

Authority: the store's ``symbols`` table, with a local copy in the writer's state directory
(``<state-dir>/<group>/symbols.jsonl``, one fsynced line per id) so ids are handed out and rows spilled
while the store is down. A new (exchange, symbol) gets ``max(id) + 1``; the directory's entries are
taken in its order, so a first run (empty copy, empty store) keeps the directory's own ids, which also
names the rows an older release stored (they are only as right as the directory they were written with).
The copy is written before any row carrying a new id leaves the writer (store or spill); the store gets
the ids it lacks before each insert (``publish``), so a stored row's id is always in ``symbols``.

At every connect the copy and the store are reconciled (``reconcile``): each takes the other's ids. A
*conflict* — one name with two ids, or one id with two names — is never resolved by itself: the writer
logs it, reports it (status ``symbols.conflict``) and exits with 78 (needs its operator) before writing
a row. Resolve it by hand: if the store is right (the state directory came from another store, or the
store was restored), move ``symbols.jsonl`` aside — and the spill with it, since its rows carry that
copy's ids; if the copy is right, correct the store's ``symbols`` rows.

Rows of a ring whose group has no directory (hand-made rings, ``tickagg bench writer``) keep their ids as
they are; a run id the directory does not name is stored as 0 ("none") and counted.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np
import orjson

from shm import segment
from shm.symbols_plain import PlainDirectory, directory_name

log = logging.getLogger("tickagg.writer")
FILE = "symbols.jsonl"


class SymbolConflict(Exception):
    """The local copy and the store (or either alone) give one name two ids, or one id two names."""


class StoreSymbolIds:
    """(exchange, symbol) <-> store id, persisted in ``state_dir``; translates batches of run ids."""

    def __init__(self, state_dir: str, group: str):
        self.group = group
        self.path = os.path.join(state_dir, FILE)
        self.names: dict[int, tuple[str, str, int]] = {}  # store id -> (exchange, symbol, first_seen_ns)
        self.ids: dict[tuple[str, str], int] = {}
        self.unpublished: set[int] = set()  # ids the store may lack (all of them until reconciled)
        self.conflict = ""
        self.max_id = 0
        self.unknown_rows = 0  # rows whose run id the directory did not name (stored as 0)
        self._table = np.zeros(1, np.uint32)  # run id -> store id; 0 -> 0
        self._directory: PlainDirectory | None = None
        self._file = None
        self._load()

    # -- the local copy -------------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            with open(self.path, "rb") as f:
                lines = f.read().split(b"\n")
        except FileNotFoundError:
            lines = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
                self._add(int(entry["id"]), str(entry["exchange"]), str(entry["symbol"]), int(entry["first_seen_ns"]),
                          f"{self.path} line {number}")
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                if number < len(lines) - 1 or lines[-1]:  # only the last line may be torn (a crash while appending)
                    self._refuse(f"{self.path} line {number} is not a symbol entry: {line[:80]!r}")
        self.unpublished = set(self.names)

    def _add(self, symbol_id: int, exchange: str, symbol: str, first_seen_ns: int, where: str) -> bool:
        """Take one (id, name); False if known already; SymbolConflict if it contradicts what is known."""
        name = (exchange, symbol)
        if self.names.get(symbol_id, (exchange, symbol))[:2] != name or self.ids.get(name, symbol_id) != symbol_id:
            other = self.names.get(symbol_id)
            self._refuse(f"{where}: symbol id {symbol_id} = {exchange}:{symbol}, but the writer knows "
                         + (f"id {symbol_id} = {other[0]}:{other[1]}" if other and other[:2] != name
                            else f"{exchange}:{symbol} = id {self.ids[name]}"))
        if symbol_id in self.names:
            return False
        if not 0 < symbol_id < 1 << 32:
            self._refuse(f"{where}: symbol id {symbol_id} is not a UInt32 above 0")
        self.names[symbol_id] = (exchange, symbol, first_seen_ns)
        self.ids[name] = symbol_id
        self.max_id = max(self.max_id, symbol_id)
        return True

    def _persist(self, symbol_ids: list[int]) -> None:
        """Append entries to the local copy, durably (before any row carrying them leaves the writer)."""
        if self._file is None:
            self._file = open(self.path, "ab")
        for symbol_id in symbol_ids:
            exchange, symbol, first_seen_ns = self.names[symbol_id]
            self._file.write(orjson.dumps({"id": symbol_id, "exchange": exchange, "symbol": symbol,
                                           "first_seen_ns": first_seen_ns}) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def _refuse(self, message: str) -> None:
        self.conflict = (f"{message}. The writer stores no rows with doubtful symbol ids. If the store is right, move "
                         f"{self.path} (and the spill beside it, whose rows carry its ids) aside; if the local copy is "
                         "right, correct the store's symbols table; then start the writer again")
        log.error("symbol id conflict: %s", self.conflict)
        raise SymbolConflict(self.conflict)

    # -- the store ------------------------------------------------------------------------------------------
    def reconcile(self, store) -> None:
        """Union of the local copy and ``store.database``.symbols (SymbolConflict if they disagree), then the
        group's directory as it is now (a migrated store's rows were written with its ids), all in the store."""
        rows = store.execute(f"SELECT symbol_id, exchange, symbol, first_seen_ns FROM {store.database}.symbols")
        in_store, added = set(), []
        for symbol_id, exchange, symbol, first_seen_ns in rows:
            if self._add(int(symbol_id), str(exchange), str(symbol), int(first_seen_ns), f"the store's {store.database}.symbols"):
                added.append(int(symbol_id))
            in_store.add(int(symbol_id))
        if added:
            self._persist(added)
            log.info("%d symbol ids taken from the store into %s", len(added), self.path)
        self.unpublished = set(self.names) - in_store
        self.check_directory()
        if self._directory is not None:
            self._grow()
        self.publish(store)

    def publish(self, store) -> None:
        """Give the store the ids it lacks (before the rows that use them). Raises the store's errors."""
        if not self.unpublished:
            return
        ids = sorted(self.unpublished)
        store.insert_rows(f"{store.database}.symbols", ["symbol_id", "exchange", "symbol", "first_seen_ns"],
                          [(i, *self.names[i]) for i in ids])
        self.unpublished.difference_update(ids)

    # -- the directory and the translation -------------------------------------------------------------------
    def check_directory(self) -> None:
        """Follow the group's directory: attach once it exists, start over when it was recreated (one ``lstat``)."""
        if self._directory is not None and self._directory.same_file():
            return
        if self._directory is not None:
            log.info("the symbol directory of group %s was recreated; mapping its ids afresh", self.group)
            self._directory.close()
            self._directory, self._table = None, np.zeros(1, np.uint32)
        try:
            if segment.exists(directory_name(self.group)):
                self._directory = PlainDirectory(self.group)
        except segment.SegmentError as exc:
            log.warning("cannot read the symbol directory of group %s: %s", self.group, exc)

    def translate(self, records: np.ndarray) -> None:
        """Rewrite ``records["symbol_id"]`` from run ids to store ids, in place."""
        if not len(records):
            return
        self.check_directory()  # per batch: rows of a directory created (or recreated) a moment ago
        if self._directory is None:
            return
        run_ids = records["symbol_id"]
        top = int(run_ids.max())
        if top >= len(self._table):
            self._grow()
        if top < len(self._table):
            records["symbol_id"] = self._table.take(run_ids)
            return
        unknown = run_ids >= len(self._table)
        self.unknown_rows += int(unknown.sum())
        log.warning("%d rows carry symbol ids the directory of group %s does not name (up to %d); stored as 0",
                    int(unknown.sum()), self.group, top)
        records["symbol_id"] = np.where(unknown, 0, self._table.take(np.where(unknown, 0, run_ids)))

    def _grow(self) -> None:
        """Map the directory's entries published since the last look, giving new names the next store ids."""
        known = len(self._table) - 1
        keys = self._directory.keys(known + 1, self._directory.count())
        if not keys:
            return
        table = np.zeros(known + 1 + len(keys), np.uint32)
        table[: known + 1] = self._table
        new, now = [], time.time_ns()
        for offset, name in enumerate(keys):
            symbol_id = self.ids.get(name)
            if symbol_id is None:
                symbol_id = self.max_id + 1
                self._add(symbol_id, name[0], name[1], now, "a new symbol")
                new.append(symbol_id)
            table[known + 1 + offset] = symbol_id
        if new:
            self._persist(new)
            self.unpublished.update(new)
        self._table = table

    def status(self) -> dict:
        return {"known": len(self.names), "unpublished": len(self.unpublished), "unknown_rows": self.unknown_rows,
                "conflict": self.conflict, "directory": self._directory is not None, "mapped": len(self._table) - 1}

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._directory is not None:
            self._directory.close()
