"""The writer against both real stores (a private clickhouse-server 18.16 and chDB): every ring lands in
its table exactly once, in-doubt batches after a crash are not inserted twice, spilled batches replay."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import numpy as np
import orjson
import pytest

from store import open_store, parse
from writer.commitlog import INTENT
from store.schema import MIGRATIONS, migrate
from store.tables import TICKS
from store.url import redact
from writer.writer import Writer, WriterConfig
from bench.writer_command import make_ticks
from feeds.ticks import trade_id_words
from shm.layouts import layout_of
from shm.pipeline_records import BAR, EVENT, FEATURE_ROW, LATENCY, REGIME, STAMPED_TICK
from shm.ring import PRODUCER, Ring, RingLayoutError, ring_name


def _producer(group, short, dtype, capacity=1 << 16):
    return Ring(ring_name(group, short), PRODUCER, dtype, capacity)


def _writer(url, group, state_dir, **config) -> Writer:
    writer = Writer(parse(url), WriterConfig(group=group, state_dir=str(state_dir), feature_names=("a", "b"), catalogue_version=1,
                                              **config))
    writer.start()
    return writer


def _drain(writer: Writer, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        writer.step()
        idle = all(b.ring.head == b.ring.tail and not b.count for b in writer.batchers.values())
        if idle and writer.store_up and not len(writer.spill):
            break
        time.sleep(0.005)
    writer.shutdown()


def _count(url, sql):
    store = open_store(url)
    store.connect()
    try:
        return store.execute(sql)
    finally:
        store.close()


def test_every_ring_lands_in_its_table_exactly_once(store_url, group, tmp_path):
    db = parse(store_url).database
    ticks = _producer(group, "out.ticks", STAMPED_TICK)
    rings = {short: _producer(group, short, dtype) for short, dtype in
             [("out.bars1s", BAR), ("out.bars1m", BAR), ("out.features", FEATURE_ROW), ("out.regime", REGIME),
              ("out.latency", LATENCY), ("out.events", EVENT), ("binance.events", EVENT)]}
    writer = _writer(store_url, group, tmp_path)
    now = time.time_ns()
    for i in range(5):
        ticks.push_batch(make_ticks(i * 2000, 2000, now))
    bars = np.zeros(7, BAR)
    bars["start_ns"], bars["symbol_id"], bars["close"] = now, np.arange(7), 100.5
    rings["out.bars1s"].push_batch(bars)
    rings["out.bars1m"].push_batch(bars[:3])
    features = np.zeros(2, FEATURE_ROW)
    features["start_ns"], features["symbol_id"] = now, [1, 2]
    features["values"][1, :3] = [0.5, np.nan, -2.0]
    rings["out.features"].push_batch(features)
    regime = np.zeros(4, REGIME)
    regime["start_ns"], regime["regime"] = now, [0, 1, 2, 1]
    rings["out.regime"].push_batch(regime)
    latency = np.zeros(5, LATENCY)
    latency["second_ns"], latency["stage"] = now, np.arange(5)
    rings["out.latency"].push_batch(latency)
    events = np.zeros(2, EVENT)
    events["ts_ns"], events["kind"], events["detail"] = now, [1, 2], [b"wss://x", "r\xe9set".encode()]
    rings["out.events"].push_batch(events[:1])
    rings["binance.events"].push_batch(events)
    _drain(writer)
    counts = {t: _count(store_url, f"SELECT count() FROM {db}.{t}")[0][0] for t in
              ("ticks", "bars_1s", "bars_1m", "features", "regime", "events")}
    assert counts == {"ticks": 10_000, "bars_1s": 7, "bars_1m": 3, "features": 2, "regime": 4, "events": 3}
    assert _count(store_url, f"SELECT count(), uniqExact(seq), sum(seq) FROM {db}.ticks")[0] == (10_000, 10_000, sum(range(10_000)))
    assert _count(store_url, f"SELECT count() FROM {db}.latency WHERE stage < 5 AND batch_id != 0")[0][0] >= 5
    details = sorted(r[0] for r in _count(store_url, f"SELECT detail FROM {db}.events"))
    assert details == ["réset", "wss://x", "wss://x"]
    (values,) = _count(store_url, f"SELECT values FROM {db}.features WHERE symbol_id = 2")[0]
    assert len(values) == 1400 and values[0] == 0.5 and values[2] == -2.0
    assert _count(store_url, f"SELECT name FROM {db}.feature_catalogue WHERE version = 1 ORDER BY index") == [("a",), ("b",)]
    assert _count(store_url, f"SELECT max(version) FROM {db}.schema_migrations")[0][0] >= 1
    status = writer.status()
    assert status["rows_spilled"] == 0 and status["tick_to_store_ns"]["count"] == 10_000
    inserts = status["inserts"]  # how long the store took, per table (writer/insert_times.py)
    assert {"ticks", "bars_1s", "bars_1m", "features", "regime", "events"} <= set(inserts), inserts
    for table, times in inserts.items():
        assert times["count"] >= 1 and times["seconds"] > 0, (table, times)
        assert 0 < times["p50_ms"] <= times["p99_ms"] <= times["max_ms"], (table, times)
    assert inserts["events"]["count"] >= 2  # two rings: out.events and binance.events


def _crash_during_insert(url, group, state_dir, acked: bool) -> int:
    """Pop a batch, insert it, and 'die' before the ACK (or after the ACK, before the tail commit)."""
    writer = _writer(url, group, state_dir)
    batcher = next(iter(writer.batchers.values()))
    batcher.pop()
    batch = batcher.batch()
    writer.commitlog.append(INTENT, batch.id, batcher.key, batch.incarnation, batch.start, batch.end)
    writer.store.insert(batch)
    if acked:
        from writer.commitlog import ACK

        writer.commitlog.append(ACK, batch.id, batcher.key, batch.incarnation, batch.start, batch.end)
    writer.commitlog.close()  # no shutdown: the tail stays where it was, as after SIGKILL
    writer.spill.close()
    writer.store.close()
    batcher.ring.close()
    return batch.rows


@pytest.mark.parametrize("acked", [False, True], ids=["in-doubt", "acked-not-committed"])
def test_batch_inserted_before_a_crash_is_not_inserted_again(store_url, group, tmp_path, acked):
    db = parse(store_url).database
    ring = _producer(group, "out.ticks", STAMPED_TICK)
    ring.push_batch(make_ticks(0, 3000, time.time_ns()))
    assert _crash_during_insert(store_url, group, tmp_path, acked) == 3000
    ring.push_batch(make_ticks(3000, 500, time.time_ns()))
    writer = _writer(store_url, group, tmp_path)
    _drain(writer)
    assert _count(store_url, f"SELECT count(), uniqExact(seq) FROM {db}.ticks")[0] == (3500, 3500)
    status = writer.status()
    if acked:
        assert status["recovered_skipped_rows"] == 3000
    else:
        assert status["in_doubt_resolved"] == 1
        assert status["rows_already_stored"] == 3000  # found by batch_id (18.16; chDB inserts without dedup tokens)


def test_spilled_batches_replay_exactly_once(clickhouse_server, group, tmp_path):
    """Store unreachable: batches go to the spill and the ring tail moves; a writer with a store replays them."""
    from bench.clickhouse_server import free_port

    down = f"clickhouse://writer@127.0.0.1:{free_port()}/spilltest"
    up = clickhouse_server.url(database="spilltest")
    ring = _producer(group, "out.ticks", STAMPED_TICK)
    writer = _writer(down, group, tmp_path, spill_ms=20)
    assert not writer.store_up
    for i in range(4):
        ring.push_batch(make_ticks(i * 1000, 1000, time.time_ns()))
        deadline = time.monotonic() + 5
        while ring.tail < (i + 1) * 1000 and time.monotonic() < deadline:
            writer.step()
    assert ring.tail == 4000 and writer.status()["rows_spilled"] == 4000
    writer.shutdown()
    replayer = _writer(up, group, tmp_path)
    _drain(replayer)
    assert replayer.status()["rows_replayed"] == 4000
    assert _count(up, "SELECT count(), uniqExact(seq) FROM spilltest.ticks")[0] == (4000, 4000)


def test_query_command_prints_table_and_json(store_url, group, tmp_path):
    db = parse(store_url).database
    ring = _producer(group, "out.ticks", STAMPED_TICK)
    ring.push_batch(make_ticks(0, 10, time.time_ns()))
    _drain(_writer(store_url, group, tmp_path))
    sql = f"SELECT symbol_id, count() AS n FROM {db}.ticks GROUP BY symbol_id ORDER BY symbol_id LIMIT 2"
    command = [sys.executable, "-m", "tickagg.cli", "query", sql, "--store", store_url]
    table = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["symbol_id", "n"] and "(2 rows)" in table.stdout
    as_json = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=120)
    assert orjson.loads(as_json.stdout) == {"columns": ["symbol_id", "n"], "rows": [[0, 1], [1, 1]]}


def test_password_never_shown(clickhouse_server, tmp_path):
    url = clickhouse_server.url(database="x", password="wrong-Secret-77")
    result = subprocess.run([sys.executable, "-m", "tickagg.cli", "query", "SELECT 1", "--store", url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "wrong-Secret-77" not in result.stdout + result.stderr
    assert "clickhouse://writer:***@" in result.stderr
    assert "wrong-Secret-77" not in redact(f"connect to {url} failed")


def test_commit_log_is_compacted_and_still_recovers(chdb_url, group, tmp_path, monkeypatch):
    from writer.commitlog import CommitLog

    monkeypatch.setattr(CommitLog, "COMPACT_BYTES", 0)
    ring = _producer(group, "out.ticks", STAMPED_TICK)
    writer = _writer(chdb_url, group, tmp_path, batch_rows=100, report_every_s=0.0)
    for i in range(5):
        ring.push_batch(make_ticks(i * 100, 100, time.time_ns()))
        for _ in range(3):
            writer.step()
    assert len(writer.commitlog.read()) == 1  # one ring: its last record
    tail_before_restart = ring.tail
    writer.shutdown()
    ring.push_batch(make_ticks(500, 100, time.time_ns()))
    again = _writer(chdb_url, group, tmp_path)
    _drain(again)
    assert tail_before_restart == 500
    assert _count(chdb_url, "SELECT count(), uniqExact(seq) FROM tickagg.ticks")[0] == (600, 600)


def test_uuid_trade_ids_are_stored_exactly_and_an_old_schema_is_migrated(store_url, group, tmp_path):
    db = parse(store_url).database
    store = open_store(store_url)
    store.connect()
    try:  # a store made by the first release (migration 1 only), half-way through migration 2 when it stopped
        assert migrate(store.execute, store.insert_rows, db, store.caps, 0, MIGRATIONS[:1]) == [1]
        assert "trade_uuid" not in {r[0] for r in store.execute(f"DESCRIBE TABLE {db}.ticks")}
        (add,) = MIGRATIONS[1].statements(db, store.caps, 0)
        store.execute(add.sql)
    finally:
        store.close()
    ring = _producer(group, "out.ticks", STAMPED_TICK)
    ticks = make_ticks(0, 300, time.time_ns())
    ids = [str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) << 40 | i)) for i in range(200)]
    for row, text in enumerate(ids):
        ticks["trade_id"][row], ticks["trade_id_lo"][row], ticks["flags"][row] = trade_id_words(text)
    ring.push_batch(ticks)
    writer = _writer(store_url, group, tmp_path)  # applies migration 2 (the column is there: skipped, recorded)
    _drain(writer)
    rows = _count(store_url, f"SELECT seq, toString(trade_uuid), trade_id FROM {db}.ticks ORDER BY seq")
    assert [r[1] for r in rows[:200]] == ids
    assert {r[1] for r in rows[200:]} == {"00000000-0000-0000-0000-000000000000"}
    assert [r[2] for r in rows[200:]] == list(range(200, 300))
    assert _count(store_url, f"SELECT max(version) FROM {db}.schema_migrations")[0][0] == MIGRATIONS[-1].version
    if store_url.startswith("chdb"):  # the older store's tables took chDB's small-part setting too: one file per part
        assert _count(store_url, f"SELECT DISTINCT part_storage_type FROM system.parts WHERE database = '{db}' "
                                 "AND table = 'ticks' AND active") == [("Packed",)]


def test_an_out_ticks_ring_of_the_earlier_layout_is_drained_upgraded_and_let_go(store_url, group, tmp_path):
    db = parse(store_url).database
    (earlier,) = layout_of(TICKS.dtype).earlier
    current = make_ticks(0, 3000, time.time_ns())
    old = np.zeros(len(current), earlier)
    for name in earlier.names:
        old[name] = current[name]
    with _producer(group, "out.ticks", earlier) as ring:  # left by the earlier release, rows not yet stored
        ring.push_batch(old)
    writer = _writer(store_url, group, tmp_path, rescan_s=0.05)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # stored, then the ring is let go so the new aggregator can replace it
        writer.step()
        try:
            replacement = _producer(group, "out.ticks", STAMPED_TICK)
            break
        except RingLayoutError:
            time.sleep(0.01)
    else:
        raise AssertionError(f"the writer kept the drained earlier-layout ring: {writer.status()}")
    with replacement:
        assert replacement.dtype == STAMPED_TICK and replacement.head == 0
        replacement.push_batch(make_ticks(3000, 500, time.time_ns()))
        while replacement.name not in writer.batchers and time.monotonic() < deadline:  # the next rescan attaches it
            writer.step()
            time.sleep(0.01)
        _drain(writer)
    assert _count(store_url, f"SELECT count(), uniqExact(seq), sum(seq) FROM {db}.ticks")[0] == (3500, 3500, sum(range(3500)))
