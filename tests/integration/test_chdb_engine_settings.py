"""The embedded store opens its engine with ``ENGINE_SETTINGS`` (store/chdb_store.py), in the directory asked for."""
from __future__ import annotations

import os

from store.chdb_store import ENGINE_SETTINGS, ChdbStore, engine_path
from store.tables import ALL
from store.url import parse


def test_the_engine_runs_with_the_store_settings_in_the_asked_directory(chdb_url):
    store = ChdbStore(parse(chdb_url))
    store.connect()
    try:
        rows = store.execute("SELECT value, changed FROM system.server_settings WHERE name = 'memory_worker_period_ms'")
        assert rows == [(str(ENGINE_SETTINGS["memory_worker_period_ms"]), 1)]
        store.execute("CREATE TABLE default.t (a UInt8) ENGINE = MergeTree ORDER BY a")
        store.execute("INSERT INTO default.t VALUES (1)")
        assert store.execute("SELECT count() FROM default.t") == [(1,)]
    finally:
        store.close()
    path = parse(chdb_url).path
    assert os.path.isdir(os.path.join(path, "data")) or os.path.isdir(os.path.join(path, "store"))  # no "?..." sibling
    assert not [name for name in os.listdir(os.path.dirname(path)) if "?" in name]


def test_every_engine_setting_goes_into_the_path():
    path = engine_path("/srv/ticks")
    directory, _, query = path.partition("?")
    assert directory == "/srv/ticks"
    assert dict(item.split("=") for item in query.split("&")) == {k: str(v) for k, v in ENGINE_SETTINGS.items()}


def test_every_table_of_ours_looks_for_old_parts_every_30_s_and_the_stored_ones_take_small_parts(chdb_url):
    store = ChdbStore(parse(chdb_url))
    store.connect()
    try:
        store.setup(["f0", "f1"])
        store.execute("CREATE TABLE tickagg.theirs (a UInt8) ENGINE = MergeTree ORDER BY a")  # not ours: left alone
        store.setup(["f0", "f1"])
        rows = store.execute("SELECT name, create_table_query FROM system.tables WHERE database = 'tickagg' "
                             "AND engine LIKE '%MergeTree' AND name != 'theirs'")
        names = {name for name, _ in rows}
        assert {t.name for t in ALL} < names and "symbols" in names  # the small tables are there too
        theirs = store.execute("SELECT create_table_query FROM system.tables WHERE database = 'tickagg' AND name = 'theirs'")
        assert "merge_tree_clear_old_parts_interval_seconds" not in theirs[0][0]
        for name, create in rows:
            assert "merge_tree_clear_old_parts_interval_seconds = 30" in create, name
            assert ("merge_selector_base = 10" in create) is (name in {t.name for t in ALL}), name
        store.setup(["f0", "f1"])  # again: nothing left to alter
        assert store.execute("SELECT name, create_table_query FROM system.tables WHERE database = 'tickagg' "
                             "AND engine LIKE '%MergeTree' AND name != 'theirs'") == rows
    finally:
        store.close()


def test_the_engine_never_drops_a_retried_batch_as_a_duplicate(chdb_url):
    """The writer decides by batch_id whether an in-doubt batch is in (Store.insert); the engine must not decide too:
    chDB deduplicates by the table's window whatever insert_deduplicate says, and a writer killed between the dedup
    log and the part's commit left a hash with no rows, so the retry was dropped. A store made with the window (as
    before) loses it at setup."""
    import time

    from bench.writer_command import make_ticks
    from store.batch import Batch
    from store.tables import TICKS

    store = ChdbStore(parse(chdb_url))
    store.connect()
    try:
        store.setup(["f0"])
        store.execute("ALTER TABLE tickagg.ticks MODIFY SETTING non_replicated_deduplication_window = 10000")  # as made
        store.setup(["f0"])
        create = store.execute("SELECT create_table_query FROM system.tables WHERE database = 'tickagg' AND name = 'ticks'")
        assert "non_replicated_deduplication_window = 0" in create[0][0]
        records = make_ticks(0, 100, time.time_ns())
        assert records.dtype == TICKS.dtype
        batch = Batch("tickagg.g.out.ticks", 1, 0, 100, TICKS, records)
        store._insert(batch, records, dedup=False)  # the same rows and batch_id twice: the engine keeps both
        store._insert(batch, records, dedup=False)
        assert store.execute("SELECT count(), uniqExact(seq) FROM tickagg.ticks") == [(200, 100)]
    finally:
        store.close()
