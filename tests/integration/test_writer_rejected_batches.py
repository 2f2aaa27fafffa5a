"""Batches a real store refuses for their content are never counted as stored: they land in the dead letters with
the reason, the ring moves on, the next good batches are stored, and a replay after the fix stores them."""
from __future__ import annotations

import time

import numpy as np
import pytest

from bench.writer_command import make_ticks
from shm.pipeline_records import STAMPED_TICK
from shm.ring import PRODUCER, Ring, ring_name
from store import open_store, parse
from store.tables import TICKS
from writer.deadletter import DeadLetters, replay
from writer.writer import Writer, WriterConfig

DAY_NS = 86_400 * 1_000_000_000


def _writer(url, group, state_dir) -> Writer:
    writer = Writer(parse(url), WriterConfig(group=group, state_dir=str(state_dir), feature_names=("a", "b"),
                                             catalogue_version=1, rings=("out.ticks",)))
    writer.start()
    assert writer.store_up, writer.store_error
    return writer


def _push_and_flush(writer: Writer, ring: Ring, ticks: np.ndarray, timeout_s: float = 30.0) -> None:
    """Push ``ticks`` and step the writer until the ring is drained and the batch is durable (one batch)."""
    assert ring.push_batch(ticks) == len(ticks)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        writer.step()
        if not writer.batchers:
            continue
        if all(b.ring.head == b.ring.tail and not b.count for b in writer.batchers.values()):
            return
        time.sleep(0.005)
    raise AssertionError("the writer did not make the batch durable")


def _count(writer: Writer, where: str = "1") -> int:
    return int(writer.store.execute(f"SELECT count() FROM {writer.store.database}.ticks WHERE {where}")[0][0])


def _check_dead_letter(writer: Writer, bad: np.ndarray, reason_words: tuple[str, ...]) -> None:
    dead = writer.dead_letters
    assert len(dead) == 1 and dead.rows == len(bad)
    entry = dead.entries[0]
    assert any(word in entry["reason"] for word in reason_words), entry["reason"]
    kept = dead.load(entry)
    assert kept.records.dtype == STAMPED_TICK
    assert kept.records.tobytes() == bad.tobytes()  # exactly the records that were in the ring
    status = writer.status()
    assert status["batches_quarantined"] == 1 and status["rows_quarantined"] == len(bad)
    assert status["dead_letter_rows"] == len(bad) and entry["reason"] in status["last_quarantine"]


def _run_scenario(url, group, tmp_path, break_store, fix_store, bad_ticks, reason_words):
    ring = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 16)
    writer = _writer(url, group, tmp_path)
    now = time.time_ns()
    good_before = make_ticks(0, 700, now)
    _push_and_flush(writer, ring, good_before)
    break_store(writer.store)
    bad = bad_ticks(make_ticks(10_000, 1000, now))
    _push_and_flush(writer, ring, bad)
    fix_store(writer.store)
    good_after = make_ticks(20_000, 900, now)
    _push_and_flush(writer, ring, good_after)

    stored_rows = len(good_before) + len(good_after)
    assert writer.stats["rows_stored"]["ticks"] == stored_rows  # the refused batch is not counted as stored
    assert _count(writer) == stored_rows
    assert writer.store_up
    _check_dead_letter(writer, bad, reason_words)
    return writer, ring, bad, stored_rows


def test_chdb_check_constraint_batch_goes_to_dead_letters_and_replays(chdb_url, group, tmp_path):
    def add_check(store):
        store.execute(f"ALTER TABLE {store.database}.ticks ADD CONSTRAINT price_sane CHECK price < 1000000")

    def drop_check(store):
        store.execute(f"ALTER TABLE {store.database}.ticks DROP CONSTRAINT price_sane")

    def absurd_price(ticks):
        ticks["price"][500] = 5e9
        return ticks

    writer, ring, bad, stored_rows = _run_scenario(chdb_url, group, tmp_path, add_check, lambda store: None, absurd_price,
                                                   ("constraint",))
    # still refused while the constraint holds: replay keeps it, with the reason
    result = replay(writer.dead_letters, writer.store)
    assert (result.replayed_batches, result.refused) == (0, 1) and len(writer.dead_letters) == 1
    drop_check(writer.store)
    result = replay(writer.dead_letters, writer.store)
    assert (result.replayed_batches, result.replayed_rows, result.refused) == (1, len(bad), 0)
    assert len(writer.dead_letters) == 0
    assert _count(writer) == stored_rows + len(bad)
    assert _count(writer, "price > 1000000") == 1
    writer.shutdown()
    ring.close()


def test_chdb_batch_spanning_150_days_is_not_acknowledged(chdb_url, group, tmp_path):
    def spread(ticks):
        ticks["ts_exchange_ns"] = ticks["ts_exchange_ns"] - np.arange(len(ticks), dtype=np.int64) * (150 * DAY_NS // len(ticks))
        return ticks

    writer, ring, bad, _ = _run_scenario(chdb_url, group, tmp_path, lambda store: None, lambda store: None, spread,
                                         ("150 days", "max_partitions_per_insert_block"))
    writer.shutdown()
    ring.close()
    # a restart neither re-inserts nor re-quarantines the batch: the commit log says it is quarantined
    again = _writer(chdb_url, group, tmp_path)
    assert len(again.dead_letters) == 1 and again.stats["batches_quarantined"] == 0
    assert again.stats["recovered_skipped_rows"] == 0  # the tail had been committed past it
    again.shutdown()


def test_server_batch_for_a_changed_table_goes_to_dead_letters(clickhouse_server, group, tmp_path):
    url = clickhouse_server.url(database=f"t{group[-8:]}")

    def drop_side(store):
        store.execute(f"ALTER TABLE {store.database}.ticks DROP COLUMN side")

    def add_side(store):
        store.execute(f"ALTER TABLE {store.database}.ticks ADD COLUMN side Int8 AFTER size")

    writer, ring, bad, stored_rows = _run_scenario(url, group, tmp_path, drop_side, add_side, lambda ticks: ticks,
                                                   ("Code: 16", "side"))
    assert writer.stats["store_failures"] == 0  # refused once, never retried
    result = replay(writer.dead_letters, writer.store)
    assert (result.replayed_batches, result.refused) == (1, 0)
    assert _count(writer) == stored_rows + len(bad)
    writer.shutdown()
    ring.close()
