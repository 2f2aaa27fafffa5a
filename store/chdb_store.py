"""Embedded ClickHouse (chDB) in a local directory: the default store, no server to install.

Inserts go in as ``RowBinary`` through ``Session.send_insert``: for the
all-numeric tables the payload is the ring records repacked with numpy into
the table's column order (RowBinary of fixed-width columns is just the
little-endian values back to back; DateTime64(9) is an Int64 of ns), which
measured fastest here (about 2 M tick rows/s at 100 k rows per insert, versus
1.4 M through a PyArrow table and ``Python()``). A fixed-length Array is its
varint length then the values; strings (events, few) are encoded row by row.

What an insert costs here is mostly per insert, not per row (a part's files,
the pipeline, the merges it feeds), so the embedded tables and inserts are
set for small frequent parts (10-row inserts with their row-count check, on
the loaded 2-core machine: ~20-30 ms of CPU each before, ~12-16 after): parts
under 10 MiB are written ``packed`` (``min_bytes_for_full_part_storage``: one
file per part instead of a dozen; merges above it write ordinary parts;
merges wait for more parts of a size: ``TABLE_SETTINGS``), and an insert
runs on one thread without ClickHouse's deduplication (``insert_deduplicate = 0``: no block hash,
no dedup log; a batch that may already be in, after a crash or a failed
insert, is marked in doubt by the writer and checked by ``batch_id`` before it
goes in again, as on ClickHouse 18.16: ``Store.insert``).

chDB is imported here, lazily, and only this module imports it: it takes a
process to about 270 MB of RSS. One process at a time can open a chDB
directory (chDB locks it), so ``tickagg query`` cannot read the store while a
writer has it open.
"""
from __future__ import annotations

import logging

import numpy as np
import orjson

from store.base import Store, StoreError, StoreRejected, StoreUnavailable, batch_days, error_code, error_kind
from store.batch import Batch
from store.schema import OWN_TABLES, Capabilities, quote
from store.tables import BY_NAME, NS, Table, column_values
from store.url import StoreURL

log = logging.getLogger(__name__)

_FIXED = {
    NS: "<i8", "Int8": "i1", "UInt8": "u1", "Int16": "<i2", "UInt16": "<u2", "Int32": "<i4", "UInt32": "<u4",
    "Int64": "<i8", "UInt64": "<u8", "Float32": "<f4", "Float64": "<f8", "UUID": ("<u8", (2,)),
}


# Per table (ALTER ... MODIFY SETTING at setup): parts under 10 MiB uncompressed (an insert's part, early merges) in
# one packed file; merges that wait for more parts of a size (merge_selector_base 10, ClickHouse's default 5: each row
# is rewritten fewer times, for more parts per day between merges; ~0.85x the store's CPU at 50 ms batches); and no
# insert deduplication by the engine (non_replicated_deduplication_window 0; store/schema.py makes the tables with a
# window for servers that take tokens). chDB 4.4 deduplicates by the window whatever ``insert_deduplicate`` says,
# and its engine runs in the writer: a writer killed between the engine's dedup log write and its part's commit
# left a block hash with no rows, and the retry of that in-doubt batch (same rows, same batch_id) was dropped as a
# duplicate without an error (tests/fault/test_writer_faults.py caught it once in CI: 5,319 ticks quarantined as
# refused). The writer already decides by batch_id whether an in-doubt batch is in (``Store.insert``).
TABLE_SETTINGS = {"min_bytes_for_full_part_storage": 10 << 20, "merge_selector_base": 10,
                  "non_replicated_deduplication_window": 0}
# On every table of ours (store/schema.py OWN_TABLES: the small ones too, symbols, exchanges, the catalogues): old
# parts (those a merge replaced, kept old_parts_lifetime, 8 min) are looked for every 30 s, not every second
# (ClickHouse's default: a wakeup a second per table, 12 tables; an idle engine's own threads 2.9 -> 1.8 ms of CPU a
# second).
EVERY_TABLE_SETTINGS = {"merge_tree_clear_old_parts_interval_seconds": 30}
INSERT_SETTINGS = "max_threads = 1, max_insert_threads = 1"  # a batch is small: no pipeline threads to hand it between
# The embedded engine's own background threads, given as its start-up settings (chDB passes a session path's query
# string to the engine). An idle engine's own threads (no query, one table) took 4.4 ms of CPU a second, 0.9 with
# these: the memory worker, which corrects the engine's memory tracking to the process's resident size, ran ~10 times
# a second (here every 5 s; allocations are still tracked as they happen), and every table's merge selection, after an
# insert, polled again at 0.1 s x 1.1^n (+ up to 1 s) while it found nothing to merge (here 1 s x 2^n: an insert
# still selects its merges at once; only the polls of a table with nothing to merge thin out).
ENGINE_SETTINGS = {
    "memory_worker_period_ms": 5000,
    "background_processing_pool_thread_sleep_seconds_if_nothing_to_do": 1,
    "background_processing_pool_task_sleep_seconds_when_no_work_multiplier": 2,
}


class ChdbStore(Store):
    kind = "chdb"
    # Batches go by age only (``--batch-ms``; ``batch_ms`` below: 5 inserts a second per busy ring at any rate):
    # each chDB insert writes a part and feeds the merges in this process, ~8-15 ms of CPU whatever its size (+ ~1 ms
    # per 1,000 tick rows), so
    # 1,000-row batches at 80k ticks/s would need 80 inserts a second: the writer falls behind and inserts back to
    # back, a whole core. ``--batch-rows`` still sets a row trigger for lower latency at that price.
    batch_rows = 1 << 62
    # 200 ms, not 50: ~5 inserts a second per busy ring, not 20. At 80k ticks/s the store's own CPU (insert
    # pipeline, part writes, merges: all in this process) fell from ~95% to ~55% of a core at 100 ms (w4's harness,
    # session 9). 100 -> 200 ms (`bench e2e --store chdb`, 2 runs at 100, 3 at 200, session 24): the writer 35.9-39.3%
    # -> 27.2-30.3% of a core (its threads at 100 ms: insert pipeline 14%, merges 14%, Python 8%), the group
    # 85.8-88.4% -> 76.1-82.0%, tick-to-storage p99 224-240 -> 296-338 ms. ``--batch-ms 50`` buys the latency back.
    batch_ms = 200.0
    # An idle group's inserts by the same token: 5 s for ticks, 10 s for the rest, not 1 s / 2 s. An idle group
    # (10 ticks/s, 2,378 symbols) cost the writer 55 ms of CPU a second with 1 s / 2 s (its own thread 16: ~2 inserts
    # a second; chDB's merge, memory and schedule threads the rest), 22 with 5 s / 10 s (60 s, /proc schedstat, both
    # groups side by side, session 13); a tick after a silence reaches the store up to 5 s later.
    quiet_batch_ms = 5000.0
    quiet_summary_ms = 10000.0

    def __init__(self, url: StoreURL):
        super().__init__(url)
        self._session = None
        self._rows: dict[str, int] = {}  # per table, its row count after our last confirmed insert

    def dedup_by_token(self) -> bool:
        return False  # an in-doubt batch is checked by batch_id instead: a token costs every insert a hash and a log write

    def setup(self, feature_names: list[str], catalogue_version: int = 0, retention_days: int = 0) -> list[int]:
        applied = super().setup(feature_names, catalogue_version, retention_days)
        self._set_table_settings()
        return applied

    def _set_table_settings(self) -> None:
        """``TABLE_SETTINGS`` on every stored table, ``EVERY_TABLE_SETTINGS`` on every table of ours (``OWN_TABLES``;
        a table someone else made in the database is left as it is), where they are lacking (a store made before them
        too); idempotent."""
        names = ", ".join(f"'{name}'" for name in sorted(OWN_TABLES))
        rows = self.execute(f"SELECT name, create_table_query FROM system.tables WHERE database = '{quote(self.database)}' "
                            f"AND engine LIKE '%MergeTree' AND name IN ({names})")
        for name, create in rows:
            settings = {**EVERY_TABLE_SETTINGS, **(TABLE_SETTINGS if name in BY_NAME else {})}
            wanted = [f"{k} = {v}" for k, v in settings.items()]
            if any(setting not in create for setting in wanted):
                self.execute(f"ALTER TABLE {self.database}.{name} MODIFY SETTING {', '.join(wanted)}")

    def connect(self) -> None:
        if self._session is not None:
            return
        from chdb import session  # lazy: ~270 MB

        try:
            self._session = session.Session(engine_path(self.url.path))
        except Exception as exc:  # noqa: BLE001 — chDB raises RuntimeError with the server's text
            text = str(exc)
            if "lock" in text.lower() or "EmbeddedServer" in text:
                text = (f"cannot open the chDB store in {self.url.path}: another process (a running `tickagg write`?) "
                        f"has it open; chDB allows one process per directory ({text.strip()[:200]})")
            raise StoreError(text) from None
        self.caps = Capabilities.from_version(self.execute("SELECT version()")[0][0])

    def _run(self, sql: str, fmt: str = "JSONCompact"):
        if self._session is None:
            raise StoreUnavailable(f"chDB store {self.url.path} is not open")
        try:
            return self._session.query(sql, fmt)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"chDB: {str(exc).strip()}") from None

    def execute(self, sql: str) -> list[tuple]:
        result = self._run(sql)
        raw = result.bytes()
        if not raw.strip():
            return []
        return [tuple(row) for row in orjson.loads(raw).get("data", [])]

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        raw = self._run(sql).bytes()
        if not raw.strip():
            return [], []
        document = orjson.loads(raw)
        return [m["name"] for m in document.get("meta", [])], [tuple(r) for r in document.get("data", [])]

    def insert_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
        self._run(f"INSERT INTO {table} ({', '.join(f'`{c}`' for c in columns)}) VALUES {values}")

    def _insert(self, batch: Batch, records: np.ndarray, dedup: bool) -> None:
        """Send the batch, then confirm it arrived. chDB's streaming insert drops a batch it refuses inside the insert
        (more days than ``max_partitions_per_insert_block``, a CHECK constraint) without an error and with
        ``rows_written`` as if stored (chdb 4.4; ``Session.query`` raises for the same rows but cuts inline binary data
        short), so the insert is confirmed by the table's row count: ``SELECT count()`` with no condition is answered
        from the parts' metadata (about 2 ms, whatever the table's size, against 10-20 ms for counting the batch's rows
        by ``batch_id``). This process is the only one writing the table (chDB locks its directory) and merges keep
        the row count, so a count that grew by exactly the batch's rows means the batch is in; any other count (a
        refused batch, a deduplicated retry, a TTL merge that dropped old days meanwhile) falls back to counting the
        batch's own rows (``stored_by_day``), which decides."""
        table = batch.table
        columns = ", ".join(f"`{c}`" for c in table.column_names)
        settings = f" SETTINGS {INSERT_SETTINGS}" + (f", insert_deduplication_token = '{batch.token}'" if dedup else
                                                     ", insert_deduplicate = 0")
        payload = rowbinary(table, records, batch.id)
        before = self._rows.pop(table.name, None)  # forgotten until this insert is confirmed
        if before is None:
            before = self._table_rows(table)
        try:
            with self._session.send_insert(f"INSERT INTO {self.database}.{table.name} ({columns}){settings}", "RowBinary") as inserter:
                inserter.append(payload)
                inserter.finish()
        except Exception as exc:  # noqa: BLE001 — a local failure (disk full...): retry later, spill meanwhile
            text = str(exc).strip()[:300]
            kind = error_kind(error_code(text), text)
            raise (kind if kind is StoreRejected else StoreUnavailable)(f"chDB insert into {table.name} failed: {text}") from None
        after = self._table_rows(table)
        if after == before + len(records):
            self._rows[table.name] = after
            return
        stored = sum(self.stored_by_day(batch).values())
        self._rows[table.name] = after
        if stored != len(batch.records):
            raise StoreRejected(f"chDB took the insert of {len(batch.records)} rows into {table.name} without an error but "
                                f"stored {stored}: {self._why_refused(batch)}")

    def _table_rows(self, table: Table) -> int:
        """Rows in the table (``count()`` without a condition: read from the parts' metadata, not the data)."""
        return int(self._run(f"SELECT count() FROM {self.database}.{table.name}", "CSV").bytes())

    def _why_refused(self, batch: Batch) -> str:
        """chDB does not say why it dropped a batch; name the causes that fit it."""
        causes = []
        days = len(np.unique(batch_days(batch)))
        limit = self.execute("SELECT getSetting('max_partitions_per_insert_block')")[0][0]
        if int(limit) and days > int(limit):
            causes.append(f"the batch spans {days} days (partitions), more than max_partitions_per_insert_block = {limit}")
        create = self.execute(f"SELECT create_table_query FROM system.tables WHERE database = '{quote(self.database)}' "
                              f"AND name = '{quote(batch.table.name)}'")
        checks = [part.split(",")[0].strip() for part in (create[0][0] if create else "").split("CONSTRAINT ")[1:]]
        if checks:
            causes.append("a row may break a constraint of the table: " + "; ".join(checks)[:300])
        return " or ".join(causes) if causes else "chDB refused it inside the insert (cause not reported)"

    def close(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            finally:
                self._session = None
                self._rows.clear()


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + quote(value) + "'"
    return repr(int(value)) if isinstance(value, (int, np.integer)) else repr(float(value))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def rowbinary(table: Table, records: np.ndarray, batch_id: int) -> bytes:
    """The batch in RowBinary, columns in ``table.column_names`` order."""
    if any(c.type == "String" for c in table.columns):
        return _rowbinary_rows(table, records, batch_id)
    fields, fill = [], {}
    for column in table.columns:
        if column.type.startswith("Array("):
            source = records.dtype.fields[column.field or column.name][0]
            prefix = _varint(source.shape[0])
            fields.append((f"{column.name}__len", "u1", (len(prefix),)))
            fill[f"{column.name}__len"] = np.frombuffer(prefix, np.uint8)
            fields.append((column.name, source.base.str, source.shape))
        else:
            fields.append((column.name, _FIXED[column.type]))
    fields.append(("batch_id", "<u8"))
    packed = np.empty(len(records), np.dtype(fields))
    for column in table.columns:
        packed[column.name] = column_values(column, records)
    for name, value in fill.items():
        packed[name] = value
    packed["batch_id"] = batch_id
    return packed.tobytes()


def _rowbinary_rows(table: Table, records: np.ndarray, batch_id: int) -> bytes:
    arrays = table.column_arrays(records, batch_id)
    kinds = [c.type for c in table.columns] + ["UInt64"]
    out = bytearray()
    for i in range(len(records)):
        for kind, values in zip(kinds, arrays):
            if kind == "String":
                data = values[i].encode("utf-8")
                out += _varint(len(data)) + data
            elif kind == "UUID":
                out += np.asarray(values[i], dtype="<u8").tobytes()  # (first, last) 64 bits
            else:
                out += np.asarray(values[i], dtype=_FIXED[kind]).tobytes()
    return bytes(out)


def engine_path(path: str) -> str:
    """``path`` with ``ENGINE_SETTINGS`` as chDB takes them (``path?key=value&...``); a path with a "?" in it would be
    read as settings by chDB, and is refused (store/url.py)."""
    return path + "?" + "&".join(f"{key}={value}" for key, value in ENGINE_SETTINGS.items())
