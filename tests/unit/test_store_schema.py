"""DDL per server capability (ClickHouse 18.16 vs current) and ordered, recorded, idempotent migrations."""
from __future__ import annotations

from store import schema
from store.schema import Capabilities, Migration, create_table, migrate
from store.tables import EVENTS, TICKS

OLD, NEW = Capabilities.from_version("18.16.1"), Capabilities.from_version("26.9.2.1")


def test_capabilities_from_version():
    assert OLD.version == (18, 16, 1) and not (OLD.datetime64 or OLD.codecs or OLD.low_cardinality or OLD.ttl or OLD.dedup_token)
    assert NEW.datetime64 and NEW.codecs and NEW.low_cardinality and NEW.ttl and NEW.dedup_token
    assert Capabilities.from_version("21.8.15.7-lts").version == (21, 8, 15, 7)


def test_legacy_ddl_uses_only_what_18_16_has():
    ddl = create_table("db", TICKS, OLD, retention_days=30) + create_table("db", EVENTS, OLD)
    for word in ("DateTime64", "CODEC", "LowCardinality", "TTL", "deduplication"):
        assert word not in ddl
    assert "`ts_exchange_ns` Int64" in ddl and "PARTITION BY day" in ddl and "ORDER BY (symbol_id, ts_exchange_ns)" in ddl
    assert "toDateTime(intDiv(ts_exchange_ns, 1000000000), 'UTC')" in ddl


def test_modern_ddl_uses_richer_types():
    ddl = create_table("db", TICKS, NEW, retention_days=30)
    assert "`ts_exchange_ns` DateTime64(9, 'UTC') CODEC(DoubleDelta, LZ4)" in ddl
    assert "TTL day + INTERVAL 30 DAY" in ddl and "non_replicated_deduplication_window" in ddl
    assert "LowCardinality(String)" in create_table("db", EVENTS, NEW)


class FakeServer:
    def __init__(self):
        self.statements, self.recorded = [], []

    def execute(self, sql):
        self.statements.append(sql)
        return [(v,) for v, _, _ in self.recorded] if sql.startswith("SELECT version FROM") else []

    def insert_rows(self, table, columns, rows):
        self.recorded.extend(rows)


def test_migrations_run_in_order_once():
    calls = []
    migrations = (
        Migration(2, "second", lambda db, caps, days: calls.append(2) or ["ALTER 2"]),
        Migration(1, "first", lambda db, caps, days: calls.append(1) or ["CREATE 1"]),
    )
    server = FakeServer()
    assert migrate(server.execute, server.insert_rows, "db", OLD, 0, migrations) == [1, 2]
    assert calls == [1, 2] and [r[0] for r in server.recorded] == [1, 2]
    assert migrate(server.execute, server.insert_rows, "db", OLD, 0, migrations) == []
    assert calls == [1, 2]


def test_initial_migration_creates_every_table():
    server = FakeServer()
    migrate(server.execute, server.insert_rows, "db", NEW)
    created = " ".join(server.statements)
    for table in ("ticks", "bars_1s", "bars_1m", "features", "regime", "latency", "events", "feature_catalogue", "schema_migrations"):
        assert f"db.{table} (" in created
    assert [r[0] for r in server.recorded] == [m.version for m in schema.MIGRATIONS]
