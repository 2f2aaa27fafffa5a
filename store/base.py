"""The store interface, and what both stores do the same way: schema, catalogue, in-doubt batches.

A store implements ``connect`` (reads the server version into ``caps``),
``execute`` (one statement, rows back), ``_insert`` (one batch, columnar) and
``close``. On top, ``Store`` provides:

- ``setup``: database, migrations (schema.py) and the feature catalogue;
- ``insert``: one batch, exactly once. A batch marked in doubt (an earlier
  attempt may have reached the store) is inserted with
  ``insert_deduplication_token`` where the server has it; where it does not
  (18.16), or where the store goes without tokens (chDB: ``dedup_by_token``),
  the store is asked first how many of the batch's rows it already has, by
  ``batch_id`` within the batch's days, leading key values and time range (so
  the primary key index keeps that query small).
"""
from __future__ import annotations

import logging
import re
import time

import numpy as np

from store.batch import Batch
from store.schema import MIGRATIONS, Capabilities, migrate, quote, seed_names
from store.url import StoreURL, redact

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The store refused something in a way that retrying will not fix (bad SQL, bad schema)."""


class StoreUnavailable(StoreError):
    """The store is down, slow or refusing for now; an insert that raised this may or may not be in."""


class StoreAuthError(StoreError):
    """The store refused our user or password: not transient noise, a configuration to fix."""


class StoreRejected(StoreError):
    """The store answered and refused this batch for what is in it (a constraint, a type, too many partitions):
    the same batch would be refused again, so the writer quarantines it (writer/deadletter.py) instead of retrying."""


# ClickHouse error codes (clickhouse_driver.errors.ErrorCodes; chDB's messages carry the same "Code: N").
TRANSIENT_CODES = {
    159,  # TIMEOUT_EXCEEDED
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    243,  # NOT_ENOUGH_SPACE
    252,  # TOO_MANY_PARTS (too many parts to merge; but see "partitions" below)
    319,  # UNKNOWN_STATUS_OF_INSERT
    394,  # QUERY_WAS_CANCELLED
}
AUTH_CODES = {
    192,  # UNKNOWN_USER
    193,  # WRONG_PASSWORD
    194,  # REQUIRED_PASSWORD
    516,  # AUTHENTICATION_FAILED
}
# Codes an insert gets for the batch itself: retrying the same rows cannot succeed.
REJECTED_CODES = {
    6, 27, 38, 41, 117,  # CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED, _DATE, _DATETIME, INCORRECT_DATA
    7, 20, 8, 10, 16, 47,  # column count / unknown column / identifier: the table is not what the writer expects
    53, 70, 69, 321, 349,  # TYPE_MISMATCH, CANNOT_CONVERT_TYPE, ARGUMENT_OUT_OF_BOUND, VALUE_IS_OUT_OF_RANGE, NULL
    44, 128, 131, 190,  # ILLEGAL_COLUMN, TOO_LARGE_ARRAY_SIZE, TOO_LARGE_STRING_SIZE, SIZES_OF_ARRAYS_DOESNT_MATCH
    60, 81,  # UNKNOWN_TABLE, UNKNOWN_DATABASE (dropped after the migrations ran)
    469,  # VIOLATED_CONSTRAINT
}


def error_kind(code: int | None, text: str) -> type[StoreError]:
    """Which error a failed insert is: ``StoreRejected`` (the batch), ``StoreAuthError`` (our login),
    ``StoreUnavailable`` (retry later) or plain ``StoreError`` (the store refuses us: retried, loudly)."""
    if code == 252 and "partitions" in text.lower():  # "Too many partitions for single INSERT block": the batch's days
        return StoreRejected
    if code in TRANSIENT_CODES:
        return StoreUnavailable
    if code in AUTH_CODES:
        return StoreAuthError
    if code in REJECTED_CODES:
        return StoreRejected
    return StoreError


def error_code(text: str) -> int | None:
    """The ClickHouse error code in a message ("Code: 469. DB::Exception: ..."), if there is one."""
    match = re.search(r"Code: (\d+)", text)
    return int(match.group(1)) if match else None


class Store:
    kind = "store"
    batch_rows = 1000  # the writer's default row trigger for a batch (its age trigger, batch_ms, is the other)
    batch_ms = 50.0  # the writer's default age trigger (``--batch-ms``)
    quiet_batch_ms = 1000.0  # ... on a quiet ring (``--quiet-batch-ms``: an idle group's inserts)
    quiet_summary_ms = 2000.0  # ... on a quiet ring other than out.ticks (``--quiet-summary-ms``)

    def __init__(self, url: StoreURL):
        self.url = url
        self.database = url.database
        self.caps: Capabilities | None = None
        self.column_types: dict[str, dict[str, str]] = {}

    # -- implemented per store --------------------------------------------------
    def connect(self) -> None:
        raise NotImplementedError

    def execute(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Column names and rows of one query (for ``tickagg query``)."""
        raise NotImplementedError

    def _insert(self, batch: Batch, records: np.ndarray, dedup: bool) -> None:
        raise NotImplementedError

    def insert_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """A few rows of Python values (catalogue, migrations): ``INSERT INTO table (columns) VALUES``."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def ping(self) -> bool:
        try:
            self.execute("SELECT 1")
            return True
        except StoreError:
            return False

    # -- shared -----------------------------------------------------------------
    def setup(self, feature_names: list[str], catalogue_version: int = 0, retention_days: int = 0) -> list[int]:
        """Create or migrate the schema, write the feature catalogue; return the migrations applied."""
        applied = migrate(self.execute, self.insert_rows, self.database, self.caps, retention_days, MIGRATIONS)
        seed_names(self.execute, self.insert_rows, self.database)  # exchanges, latency_stages: the rows they lack
        self._write_catalogue(feature_names, catalogue_version)
        rows = self.execute(f"SELECT table, name, type FROM system.columns WHERE database = '{quote(self.database)}'")
        self.column_types = {}
        for table, name, kind in rows:
            self.column_types.setdefault(table, {})[name] = kind
        return applied

    def _write_catalogue(self, names: list[str], version: int) -> None:
        db = self.database
        have = self.execute(f"SELECT count() FROM {db}.feature_catalogue WHERE version = {int(version)}")[0][0]
        if int(have) == len(names):
            return
        if int(have):
            raise StoreError(f"feature catalogue version {version} in the store has {have} names, the aggregator has {len(names)}; "
                             "bump the catalogue version when the features change")
        self.insert_rows(f"{db}.feature_catalogue", ["version", "index", "name"],
                         [(int(version), i, name) for i, name in enumerate(names)])

    def insert(self, batch: Batch) -> int:
        """Insert ``batch`` unless the store already has it; return the rows inserted now."""
        records = batch.records
        by_token = self.dedup_by_token()
        if batch.in_doubt and not by_token:
            records = self._missing_rows(batch)
            if len(records) == 0:
                log.info("%r was already in the store", batch)
                return 0
        self._insert(batch, records, dedup=by_token)
        return len(records)

    def dedup_by_token(self) -> bool:
        """Whether every insert carries ``insert_deduplication_token`` (a retry is then deduplicated by the store);
        otherwise an in-doubt batch is checked by ``batch_id`` first (``_missing_rows``)."""
        return self.caps.dedup_token

    def _missing_rows(self, batch: Batch) -> np.ndarray:
        """The rows of an in-doubt batch the store does not have (a part per day is atomic)."""
        self._wait_for_query(batch.token)
        records, days = batch.records, batch_days(batch)
        stored = self.stored_by_day(batch)
        if not stored:
            return records
        keep = np.ones(len(records), dtype=bool)
        for day, count in stored.items():
            in_day = days == np.datetime64(day)
            if count != int(in_day.sum()):
                raise StoreError(f"{batch!r} is partly in the store on {day} ({count} of {int(in_day.sum())} rows); "
                                 "an insert should be atomic per day — check the table by hand")
            keep &= ~in_day
        log.info("%r: %d of %d rows were already in the store", batch, len(records) - int(keep.sum()), len(records))
        return records[keep]

    def stored_by_day(self, batch: Batch) -> dict[str, int]:
        """How many of the batch's rows the store has, per day: by ``batch_id`` within the batch's days, leading
        key values and time range, so the partition and primary key indexes keep the query small."""
        table, records = batch.table, batch.records
        times = records[table.time_field].astype(np.int64)
        key = table.order_by[0]
        keys = ", ".join(str(int(k)) for k in np.unique(records[key]))
        day_list = ", ".join(f"toDate('{d}')" for d in np.unique(batch_days(batch)))
        lo, hi = int(times.min()), int(times.max())
        if self.column_types.get(table.name, {}).get(table.time_field, "Int64").startswith("DateTime64"):
            lo_sql, hi_sql = f"fromUnixTimestamp64Nano(toInt64({lo}))", f"fromUnixTimestamp64Nano(toInt64({hi}))"
        else:
            lo_sql, hi_sql = str(lo), str(hi)
        rows = self.execute(
            f"SELECT toString(day), count() FROM {self.database}.{table.name} WHERE batch_id = {batch.id} "
            f"AND day IN ({day_list}) AND {key} IN ({keys}) AND {table.time_field} BETWEEN {lo_sql} AND {hi_sql} GROUP BY day"
        )
        return {str(day): int(count) for day, count in rows}

    def _wait_for_query(self, query_id: str, timeout_s: float = 30.0) -> None:
        """Let an insert the server may still be running (same query id) finish before counting its rows."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            running = self.execute(f"SELECT count() FROM system.processes WHERE query_id = '{quote(query_id)}'")
            if not int(running[0][0]):
                return
            time.sleep(0.05)
        raise StoreUnavailable(f"insert {query_id} still running on the server after {timeout_s} s")

    def describe(self) -> str:
        return f"{self.kind} {redact(str(self.url))} (ClickHouse {self.caps})"


def batch_days(batch: Batch) -> np.ndarray:
    """Each row's UTC day (the partition key)."""
    times = batch.records[batch.table.time_field].astype(np.int64)
    return (times // 86_400_000_000_000).astype("datetime64[D]")
