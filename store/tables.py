"""Each table's columns on old and new ClickHouse, and which table a ring's records go to (shm/topology.py).

A table column takes a field of the ring record as it is (same name unless
``field`` says otherwise); ``trade_uuid`` (UUID) is made of ``trade_id`` and
``trade_id_lo`` (shm/records.py) where the tick's flags say its id is a UUID (BitMEX, Bybit
derivatives), else it is all zeros. ``since`` is the schema migration that
added the column (schema.py). Every table also has:

- ``batch_id UInt64``: the writer's deterministic batch id (store/batch.py);
  lets a restarted writer ask the store whether an in-doubt batch is already in.
- ``day Date MATERIALIZED``: the UTC day of the table's time field; the partition key.
- ``time DateTime ALIAS``: the time field in seconds, for humans (costs no storage).

Times are ns since the epoch. On ClickHouse without DateTime64 (18.16, Debian's
package) they are stored as ``Int64`` ns; on current ClickHouse as
``DateTime64(9, 'UTC')``, which has the same 8-byte representation, so the
insert path is the same for both (see schema.py for the rest of the differences).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from shm.pipeline_records import BAR, EVENT, EVENT_NAMES, FEATURE_ROW, LATENCY, REGIME, STAMPED_TICK
from shm.records import FLAG_TRADE_UUID, mix64_array
from shm.topology import stored_ring

NS = "NS"  # pseudo type: a time in ns (Int64 on old servers, DateTime64(9) on new)


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str  # ClickHouse type on every version, or NS, or "String" (LowCardinality where it exists)
    codec: str = ""  # codec where the server has codecs, e.g. "Delta, LZ4"
    field: str | None = None  # ring record field, default: ``name`` (kind_name, detail, trade_uuid are derived: column_values)
    low_cardinality: bool = False
    since: int = 1  # the schema migration that added it


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    dtype: np.dtype  # ring record dtype, current layout (earlier ones: shm/layouts.py)
    columns: tuple[Column, ...]
    time_field: str  # ns field that partitions by day
    order_by: tuple[str, ...]  # sorting key; its first column narrows an in-doubt batch check

    @property
    def symbol_ids(self) -> bool:
        """Whether its rows carry a ``symbol_id`` (the writer stores the store's ids: writer/symbol_ids.py)."""
        return any(c.name == "symbol_id" for c in self.columns)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns] + ["batch_id"]

    def column_arrays(self, records: np.ndarray, batch_id: int) -> list:
        """The batch as one array (or list) per column, in ``column_names`` order; a record field is a view (strided:
        no copy here, store/native_block.py turns it into bytes in one)."""
        arrays = [column_values(c, records) for c in self.columns]
        arrays.append(np.full(len(records), batch_id, dtype=np.uint64))
        return arrays


def column_values(column: Column, records: np.ndarray):
    """One column of a batch: a record field (a view), or what is made of fields (trade_uuid, kind_name, detail)."""
    if column.name == "trade_uuid":
        return uuid_column(records)
    if column.name == "kind_name":
        return [EVENT_NAMES.get(int(k), f"kind{int(k)}") for k in records["kind"]]
    if column.name == "detail":
        return [bytes(d).rstrip(b"\0").decode("utf-8", "replace") for d in records["detail"]]
    return records[column.field or column.name]


def uuid_column(records: np.ndarray) -> np.ndarray:
    """Per row the UUID's (first, last) 64 bits where the trade id is one, else (0, 0): shape (n, 2), the
    layout of ClickHouse's UUID in Native and RowBinary (two little-endian UInt64, first half first)."""
    words = np.zeros((len(records), 2), np.uint64)
    is_uuid = (records["flags"] & FLAG_TRADE_UUID) != 0
    if is_uuid.any():
        low = records["trade_id_lo"][is_uuid]
        words[is_uuid, 0] = records["trade_id"][is_uuid] ^ mix64_array(low)  # see shm/records.py
        words[is_uuid, 1] = low
    return words


def _ns(name: str) -> Column:
    return Column(name, NS, codec="DoubleDelta, LZ4")


def _f8(name: str) -> Column:
    return Column(name, "Float64")


_BAR_COLUMNS = (
    _ns("start_ns"),
    Column("symbol_id", "UInt32"),
    Column("interval_s", "UInt32"),
    *(_f8(n) for n in ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "vwap")),
    Column("count", "UInt64"),
    _ns("first_recv_ns"),
    _ns("last_recv_ns"),
    _ns("closed_ns"),
    Column("late_ticks", "UInt32"),
    Column("flags", "UInt32"),
)

TICKS = Table(
    "ticks",
    STAMPED_TICK,
    (
        _ns("ts_exchange_ns"),
        _ns("ts_recv_ns"),
        _ns("ts_pop_ns"),
        _ns("ts_signal_ns"),
        _f8("price"),
        _f8("size"),
        Column("trade_id", "UInt64"),
        Column("trade_uuid", "UUID", since=2),
        Column("seq", "UInt64", codec="Delta, LZ4"),
        Column("symbol_id", "UInt32"),
        Column("exchange_id", "UInt16"),
        Column("side", "Int8"),
        Column("flags", "UInt8"),
    ),
    "ts_exchange_ns",
    ("symbol_id", "ts_exchange_ns"),
)
BARS_1S = Table("bars_1s", BAR, _BAR_COLUMNS, "start_ns", ("symbol_id", "start_ns"))
BARS_1M = Table("bars_1m", BAR, _BAR_COLUMNS, "start_ns", ("symbol_id", "start_ns"))
FEATURES = Table(
    "features",
    FEATURE_ROW,
    (_ns("start_ns"), Column("symbol_id", "UInt32"), Column("catalogue_version", "UInt32"), Column("values", "Array(Float64)")),
    "start_ns",
    ("symbol_id", "start_ns"),
)
REGIMES = Table(
    "regime",
    REGIME,
    (_ns("start_ns"), Column("symbol_id", "UInt32"), Column("regime", "Int8"), _f8("score"), _f8("realized_vol"), _ns("closed_ns")),
    "start_ns",
    ("symbol_id", "start_ns"),
)
LATENCIES = Table(
    "latency",
    LATENCY,
    (
        _ns("second_ns"),
        Column("stage", "UInt16"),
        Column("exchange_id", "UInt16"),
        Column("count", "UInt64"),
        *(_f8(n) for n in ("p50", "p90", "p99", "p999", "max")),
    ),
    "second_ns",
    ("stage", "exchange_id", "second_ns"),
)
EVENTS = Table(
    "events",
    EVENT,
    (
        _ns("ts_ns"),
        Column("exchange_id", "UInt16"),
        Column("kind", "UInt16"),
        Column("kind_name", "String", low_cardinality=True),
        Column("symbol_id", "UInt32"),
        Column("value", "Int64"),
        Column("detail", "String", low_cardinality=True),
    ),
    "ts_ns",
    ("exchange_id", "ts_ns"),
)

ALL = (TICKS, BARS_1S, BARS_1M, FEATURES, REGIMES, LATENCIES, EVENTS)
BY_NAME = {t.name: t for t in ALL}


def table_of_ring(short_name: str) -> Table | None:
    """The table a ring's records go to (None: the writer does not read that ring)."""
    spec = stored_ring(short_name)
    return None if spec is None else BY_NAME[spec.table]
