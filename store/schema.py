"""DDL for the store, per server capability, applied as ordered, recorded migrations.

What differs between ClickHouse 18.16 (Debian bookworm's package) and current
ClickHouse (chDB, a current server), read from ``SELECT version()``:

=====================  =================================  ======================================
feature                18.16 ("legacy")                   current ("modern")
=====================  =================================  ======================================
ns times               Int64                              DateTime64(9, 'UTC')
codecs                 none (table default LZ4)           DoubleDelta/Delta + LZ4 on times, seq
repeated strings       String                             LowCardinality(String)
retention              none (drop partitions by hand)     TTL day + INTERVAL n DAY (if asked)
retried inserts        batch_id check by query            insert_deduplication_token (window 10000)
=====================  =================================  ======================================

Both use ``ENGINE = MergeTree() PARTITION BY day ORDER BY (...)`` (18.16 has
custom partitioning). ``schema_migrations`` records which migrations ran
(version, name, ns), and they run in version order. Every migration can be
re-run after a crash half-way: tables are created with IF NOT EXISTS, and a
column is added only if ``system.columns`` does not list it yet (18.16 has no
ADD COLUMN IF NOT EXISTS).

Migrations: 1 creates the tables as first released; 2 adds ``ticks.trade_uuid``;
3 adds the tables that name the ids (``symbols``, ``exchanges``, ``latency_stages``)
and the ``*_named`` views. A column's ``since`` (tables.py) names the migration that adds it.

Names (migration 3), the same DDL on 18.16 and current servers:

- ``symbols (symbol_id UInt32, exchange String, symbol String, first_seen_ns Int64)``:
  written by the writer (writer/symbol_ids.py), one row per (exchange, symbol), whose id
  never changes for the life of the store; every ``symbol_id`` the writer stores is in it.
- ``exchanges (exchange_id UInt16, exchange String)``: shm/records.py ``EXCHANGE_IDS``;
  ``latency_stages (stage UInt16, name String)``: shm/pipeline_records.py ``STAGE_NAMES``.
  Both are filled in at every setup with the rows they lack (``seed_names``).
- Views ``ticks_named``, ``bars_1s_named``, ``bars_1m_named``, ``features_named``,
  ``regime_named``, ``events_named``: the table's columns plus ``exchange`` and ``symbol``
  (``ANY LEFT JOIN symbols USING symbol_id``; 18.16 has no ``SELECT *`` with ``USING``, so
  the columns are listed: a later migration that adds a column recreates the view);
  ``latency_named``: ``latency`` plus ``stage_name``.

A feature by its catalogue name: ``FEATURE_BY_NAME`` (arrays count from 1; current
servers want the subquery's alias).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable

from shm.pipeline_records import STAGE_NAMES
from shm.records import EXCHANGE_IDS
from store.tables import ALL, BY_NAME, LATENCIES, NS, Table

log = logging.getLogger(__name__)

DEDUP_WINDOW = 10_000  # inserts remembered per table for insert_deduplication_token


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What the server accepts, from its version."""

    version: tuple[int, ...]

    @classmethod
    def from_version(cls, text: str) -> "Capabilities":
        parts = []
        for piece in text.strip().split("."):
            digits = "".join(ch for ch in piece if ch.isdigit())
            parts.append(int(digits or 0))
        return cls(tuple(parts))

    @property
    def datetime64(self) -> bool:
        return self.version >= (20, 1)

    @property
    def codecs(self) -> bool:  # DoubleDelta and friends are in every 20.x
        return self.version >= (20, 1)

    @property
    def low_cardinality(self) -> bool:  # 18.16 has it only behind allow_experimental_low_cardinality_type
        return self.version >= (19, 3)

    @property
    def ttl(self) -> bool:
        return self.version >= (19, 6)

    @property
    def dedup_token(self) -> bool:  # insert_deduplication_token + non_replicated_deduplication_window
        return self.version >= (22, 4)

    @property
    def modern(self) -> bool:
        return self.datetime64

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.version)


def column_type(column, caps: Capabilities) -> str:
    if column.type == NS:
        kind = "DateTime64(9, 'UTC')" if caps.datetime64 else "Int64"
    elif column.low_cardinality and caps.low_cardinality:
        kind = f"LowCardinality({column.type})"
    else:
        kind = column.type
    if column.codec and caps.codecs:
        kind += f" CODEC({column.codec})"
    return kind


def seconds_expression(table: Table, caps: Capabilities) -> str:
    """The table's time field as a UTC DateTime (seconds)."""
    if caps.datetime64:
        return f"toDateTime({table.time_field}, 'UTC')"
    return f"toDateTime(intDiv({table.time_field}, 1000000000), 'UTC')"


def create_table(database: str, table: Table, caps: Capabilities, retention_days: int = 0,
                 version: int | None = None) -> str:
    """CREATE TABLE with the columns of schema ``version`` (None: the latest)."""
    seconds = seconds_expression(table, caps)
    lines = [f"    `{c.name}` {column_type(c, caps)}" for c in table.columns if version is None or c.since <= version]
    lines.append("    `batch_id` UInt64")
    lines.append(f"    `day` Date MATERIALIZED toDate({seconds}, 'UTC')")
    lines.append(f"    `time` DateTime ALIAS {seconds}")
    settings = ["index_granularity = 8192"]
    if caps.dedup_token:
        settings.append(f"non_replicated_deduplication_window = {DEDUP_WINDOW}")
    ttl = f"\nTTL day + INTERVAL {int(retention_days)} DAY" if retention_days and caps.ttl else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table.name} (\n" + ",\n".join(lines) + "\n)"
        f"\nENGINE = MergeTree()\nPARTITION BY day\nORDER BY ({', '.join(table.order_by)}){ttl}"
        f"\nSETTINGS {', '.join(settings)}"
    )


def create_catalogue(database: str, caps: Capabilities) -> str:
    name_type = "LowCardinality(String)" if caps.low_cardinality else "String"
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.feature_catalogue (\n"
        f"    `version` UInt32,\n    `index` UInt16,\n    `name` {name_type}\n)"
        "\nENGINE = MergeTree()\nORDER BY (version, index)"
    )


def create_migrations(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations (\n"
        "    `version` UInt32,\n    `name` String,\n    `applied_ns` Int64\n)"
        "\nENGINE = MergeTree()\nORDER BY version"
    )


@dataclasses.dataclass(frozen=True)
class AddColumn:
    """``ALTER TABLE ... ADD COLUMN``, skipped when the column is already there (a re-run after a crash)."""
    database: str
    table: str
    column: str
    ddl: str  # "`name` Type" plus where: "AFTER `other`"

    @property
    def sql(self) -> str:
        return f"ALTER TABLE {self.database}.{self.table} ADD COLUMN {self.ddl}"

    def present(self, execute: Callable[[str], list]) -> bool:
        rows = execute(f"SELECT count() FROM system.columns WHERE database = '{quote(self.database)}'"
                       f" AND table = '{quote(self.table)}' AND name = '{quote(self.column)}'")
        return bool(rows) and int(rows[0][0]) > 0


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Callable[[str, Capabilities, int], list]  # (database, caps, retention_days) -> DDL or AddColumn


def _initial(database: str, caps: Capabilities, retention_days: int) -> list[str]:
    statements = [create_table(database, t, caps, retention_days if t.name == "ticks" else 0, version=1) for t in ALL]
    return statements + [create_catalogue(database, caps)]


def _columns_since(version: int) -> Callable[[str, Capabilities, int], list[AddColumn]]:
    """The statements of a migration that adds the columns whose ``since`` is ``version``."""
    def statements(database: str, caps: Capabilities, retention_days: int) -> list[AddColumn]:
        added = []
        for table in ALL:
            assert table.columns[0].since == 1, "a table's first column is created with it"
            for before, column in zip(table.columns, table.columns[1:]):
                assert column.since != version or before.since <= version, f"{column.name} would follow a later column"
                if column.since == version:
                    ddl = f"`{column.name}` {column_type(column, caps)} AFTER `{before.name}`"
                    added.append(AddColumn(database, table.name, column.name, ddl))
        return added
    return statements


# The tables that name ids: symbols (the writer's), exchanges and latency stages (fixed numbers).
NAME_TABLES = {
    "symbols": ("`symbol_id` UInt32", "`exchange` String", "`symbol` String", "`first_seen_ns` Int64"),
    "exchanges": ("`exchange_id` UInt16", "`exchange` String"),
    "latency_stages": ("`stage` UInt16", "`name` String"),
}
# Every table the migrations make (the *_named views aside).
OWN_TABLES = frozenset({*BY_NAME, *NAME_TABLES, "feature_catalogue", "schema_migrations"})


def create_names(database: str) -> list[str]:
    """``NAME_TABLES``' statements."""
    return [f"CREATE TABLE IF NOT EXISTS {database}.{name} (\n    " + ",\n    ".join(columns) + "\n)"
            f"\nENGINE = MergeTree()\nORDER BY {columns[0].split()[0]}" for name, columns in NAME_TABLES.items()]


FEATURE_BY_NAME = ("SELECT start_ns, exchange, symbol, values[i] AS {name} FROM {db}.features_named "
                   "ALL INNER JOIN (SELECT version AS catalogue_version, toUInt32(index + 1) AS i "
                   "FROM {db}.feature_catalogue WHERE name = '{name}') AS catalogue USING catalogue_version")

NAMED_TABLES = ("ticks", "bars_1s", "bars_1m", "features", "regime", "events")


def create_named_view(database: str, table: Table) -> str:
    """``<table>_named``: the table's columns (and ``time``) plus the names its ids stand for."""
    columns = ", ".join(f"`{c.name}`" for c in table.columns) + ", `batch_id`, `time`"
    if table is LATENCIES:
        join, names = (f"(SELECT `stage`, `name` AS `stage_name` FROM {database}.latency_stages) AS `names` USING `stage`",
                       "`stage_name`")
    else:
        join, names = (f"(SELECT `symbol_id`, `exchange`, `symbol` FROM {database}.symbols) AS `names` USING `symbol_id`",
                       "`exchange`, `symbol`")
    return (f"CREATE VIEW IF NOT EXISTS {database}.{table.name}_named AS SELECT {columns}, {names} "
            f"FROM {database}.{table.name} ANY LEFT JOIN {join}")


def _names(database: str, caps: Capabilities, retention_days: int) -> list[str]:
    views = [create_named_view(database, BY_NAME[name]) for name in NAMED_TABLES + ("latency",)]
    return create_names(database) + views


def seed_names(execute: Callable[[str], list], insert_rows: Callable, database: str) -> None:
    """Give ``exchanges`` and ``latency_stages`` the rows they lack (their numbers are fixed in shm/); at every setup."""
    for table, key, rows in (("exchanges", "exchange_id", sorted((n, e) for e, n in EXCHANGE_IDS.items())),
                             ("latency_stages", "stage", list(enumerate(STAGE_NAMES)))):
        have = {int(row[0]) for row in execute(f"SELECT {key} FROM {database}.{table}")}
        missing = [row for row in rows if row[0] not in have]
        if missing:
            insert_rows(f"{database}.{table}", [key, "exchange" if table == "exchanges" else "name"], missing)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "ticks, bars, features, regime, latency, events, feature catalogue", _initial),
    Migration(2, "ticks.trade_uuid: UUID trade ids kept exactly", _columns_since(2)),
    Migration(3, "symbols, exchanges, latency_stages and the *_named views: stored ids name what they stand for", _names),
)


def migrate(execute: Callable[[str], list], insert_rows: Callable, database: str, caps: Capabilities,
            retention_days: int = 0, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Create the database and apply the migrations not yet recorded, in order; return those applied.

    ``execute(sql)`` runs one statement and returns rows (tuples);
    ``insert_rows(table, columns, rows)`` inserts Python rows.
    """
    execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    execute(create_migrations(database))
    done = {int(row[0]) for row in execute(f"SELECT version FROM {database}.schema_migrations")}
    applied = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in done:
            continue
        for statement in migration.statements(database, caps, retention_days):
            if isinstance(statement, AddColumn):
                if not statement.present(execute):
                    execute(statement.sql)
            else:
                execute(statement)
        insert_rows(f"{database}.schema_migrations", ["version", "name", "applied_ns"],
                    [(migration.version, migration.name, time.time_ns())])
        log.info("schema migration %d applied: %s", migration.version, migration.name)
        applied.append(migration.version)
    return applied


def schema_version(execute: Callable[[str], list], database: str) -> int:
    rows = execute(f"SELECT max(version) FROM {database}.schema_migrations")
    return int(rows[0][0]) if rows else 0


def quote(text: str) -> str:
    """``text`` as the inside of a ClickHouse single-quoted string literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")
