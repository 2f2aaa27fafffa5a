"""The writer sleeps between looks without stretching the batch age: a record that arrives while it sleeps counts its
age from the last look that found the ring drained, and the loop sleeps until a batch may be due (at most batch_ms),
not every poll_ms. A quiet ring's batch waits quiet_batch_ms; its QUIET_ROWS-th row ends the quiet."""
from __future__ import annotations

import time

import pytest

from bench.writer_command import make_ticks
from shm.pipeline_records import STAMPED_TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from store import open_store, parse
from store.chdb_store import ChdbStore
from writer.batcher import QUIET_ROWS, RingBatcher
from store.tables import TICKS
from writer.writer import QUIET_LOOK_S, Writer, WriterConfig

AGE = 0.05
QUIET = 0.5


@pytest.fixture
def rings(group):
    name = ring_name(group, "out.ticks")
    producer = Ring(name, PRODUCER, STAMPED_TICK, 4096)
    consumer = Ring(name, CONSUMER, STAMPED_TICK, numba=False)
    yield producer, consumer
    consumer.close()
    producer.close()


def test_a_record_arriving_between_looks_is_due_batch_ms_after_the_look_that_found_the_ring_drained(rings):
    producer, consumer = rings
    batcher = RingBatcher(consumer, TICKS, 1000)
    assert batcher.pop() == 0
    looked = batcher.drained_s
    assert producer.push_batch(make_ticks(0, 10, 10**18)) == 10
    assert batcher.pop() == 10
    assert batcher.first_s == looked  # not the later pop: the records may have arrived just after the look
    assert not batcher.due(looked + AGE * 0.99, 1000, AGE)
    assert batcher.due(looked + AGE * 1.01, 1000, AGE)


def test_records_left_in_the_ring_after_a_full_buffer_count_from_the_last_drained_look(rings):
    producer, consumer = rings
    batcher = RingBatcher(consumer, TICKS, 100)
    assert batcher.pop() == 0
    looked = batcher.drained_s
    assert producer.push_batch(make_ticks(0, 150, 10**18)) == 150
    assert batcher.pop() == 100  # the buffer is full, the ring is not drained
    assert batcher.drained_s == looked
    batch = batcher.batch()
    batcher.durable(batch)
    assert batcher.pop() == 50
    assert batcher.first_s == looked  # these 50 were waiting since before the first pop


def test_wake_in_is_the_age_limit_or_the_estimated_time_to_the_row_trigger(rings):
    producer, consumer = rings
    batcher = RingBatcher(consumer, TICKS, 1000)
    assert batcher.wake_in(123.0, 1000, AGE) == AGE  # empty: look again within the age limit
    batcher.pop()
    assert producer.push_batch(make_ticks(0, 100, 10**18)) == 100
    batcher.pop()
    first = batcher.first_s
    # 100 rows in 10 ms: 900 more take ~90 ms, so the age limit (40 ms left) comes first
    assert batcher.wake_in(first + 0.010, 1000, AGE) == pytest.approx(0.040)
    # 100 rows in 1 ms: 900 more take ~9 ms, before the age limit
    assert batcher.wake_in(first + 0.001, 1000, AGE) == pytest.approx(0.009)
    assert batcher.wake_in(first + 0.060, 1000, AGE) < 0  # overdue


def test_a_quiet_ring_waits_the_quiet_age_until_its_quiet_rows_th_row(rings):
    producer, consumer = rings
    batcher = RingBatcher(consumer, TICKS, 1000, QUIET)
    assert batcher.pop() == 0 and batcher.quiet
    looked = batcher.drained_s
    assert producer.push_batch(make_ticks(0, QUIET_ROWS - 1, 10**18)) == QUIET_ROWS - 1
    batcher.pop()
    assert batcher.quiet and batcher.age_limit(AGE) == QUIET
    assert not batcher.due(looked + AGE * 2, 1000, batcher.age_limit(AGE))
    assert batcher.due(looked + QUIET * 1.01, 1000, batcher.age_limit(AGE))
    assert batcher.wake_in(looked + AGE * 2, 1000, batcher.age_limit(AGE)) == pytest.approx(QUIET - AGE * 2)
    assert batcher.age_limit(AGE, False) == AGE  # quiet batches off
    assert producer.push_batch(make_ticks(QUIET_ROWS, 1, 10**18)) == 1
    batcher.pop()
    assert not batcher.quiet and batcher.due(looked + AGE * 1.01, 1000, batcher.age_limit(AGE))
    batcher.durable(batcher.batch())
    assert not batcher.quiet  # the last second brought QUIET_ROWS rows: still busy after the insert


@pytest.mark.parametrize("quiet_ms", [QUIET * 1000, 0.0])
def test_an_idle_writer_sleeps_a_batch_interval_not_a_poll(chdb_url, group, tmp_path, quiet_ms):
    producer = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 4096)
    writer = Writer(parse(chdb_url), WriterConfig(group=group, state_dir=str(tmp_path), feature_names=("a", "b"),
                                                  catalogue_version=1, rings=("out.ticks",), batch_ms=AGE * 1000,
                                                  quiet_batch_ms=quiet_ms, poll_ms=1.0))
    try:
        writer.start()
        assert writer.store_up, writer.store_error
        assert not writer.step()
        writer._next_report = writer._next_rescan = float("inf")  # only the batches decide the sleep here
        assert writer.idle_s() > 10 * writer.config.poll_ms / 1000  # not a 1 ms poll
        # a burst is noticed within batch_ms, or QUIET_LOOK_S while every ring is quiet (a lone tick: within quiet_ms)
        look = max(AGE, min(QUIET_LOOK_S, quiet_ms / 1000))
        assert writer.idle_s() == pytest.approx(look, abs=0.01)
        batcher = writer.batchers[producer.name]
        batcher.drained_s = time.monotonic() + 3600  # as if last looked at later: no batch is due by age in this step
        assert producer.push_batch(make_ticks(0, 5, 10**18)) == 5
        writer.step()
        assert writer.idle_s() <= look
        if quiet_ms:  # between beats a quiet look only reads the head: 5 rows are no burst, their age is not due
            assert batcher.count == 0 and batcher.unpopped() == 5
            writer._next_report = writer._calm_until = time.monotonic()  # the beat (the report's second) comes
            assert not writer.step()
        assert batcher.count == 5  # popped: not quiet, at every look; quiet, on the beat
        rows, age, quiet = writer._triggers(True)
        assert batcher.due(batcher.first_s + AGE * 1.01, rows, batcher.age_limit(age, quiet)) == (not quiet_ms)  # quiet: later
        batcher.first_s = time.monotonic() - max(AGE, quiet_ms / 1000) - 0.01  # its age limit has passed
        writer._calm_until = 0.0  # (as a step computes it from first_s: due now)
        assert writer.step() == (not quiet_ms) and batcher.count == 0  # quiet: flushed, and no need to look again at once
    finally:
        writer.shutdown()
        producer.close()


def test_chdb_batches_by_age_only_unless_a_row_trigger_is_given(chdb_url, tmp_path):
    store = ChdbStore(parse(chdb_url))
    assert Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path)), store)._triggers(True)[0] >= 1 << 40
    given = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path), batch_rows=500), store)
    assert given._triggers(True)[0] == 500


def test_the_batch_age_defaults_to_the_stores_own(chdb_url, tmp_path):
    """chDB inserts cost CPU in the writer's process: its batches are 200 ms old by default, a server's 50;
    a given --batch-ms wins over either."""
    server = parse("clickhouse://default@127.0.0.1:9/tickagg")  # never connected here
    chdb = ChdbStore(parse(chdb_url))
    assert Writer(server, WriterConfig(state_dir=str(tmp_path)), open_store(server))._triggers(True)[1] == 0.05
    assert Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path)), chdb)._triggers(True)[1] == 0.2
    given = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path), batch_ms=20.0), chdb)
    assert given._triggers(True)[1] == 0.02 and given.config.batch_ms == 20.0


def test_the_quiet_batch_ages_default_to_the_stores_own(chdb_url, tmp_path):
    """An idle group's chDB inserts cost the writer's process ~2.5x a server's: quiet batches wait 5 s / 10 s there,
    1 s / 2 s on a server; given ages win over either."""
    from store.tables import BARS_1S

    server = parse("clickhouse://default@127.0.0.1:9/tickagg")  # never connected here
    chdb = ChdbStore(parse(chdb_url))
    on_server = Writer(server, WriterConfig(state_dir=str(tmp_path)), open_store(server))
    on_chdb = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path)), chdb)
    assert [on_server._quiet_age(t) for t in (TICKS, BARS_1S)] == [1.0, 2.0]
    assert [on_chdb._quiet_age(t) for t in (TICKS, BARS_1S)] == [5.0, 10.0]
    given = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path), quiet_batch_ms=500.0, quiet_summary_ms=0.0), chdb)
    assert [given._quiet_age(t) for t in (TICKS, BARS_1S)] == [0.5, 0.5]  # summaries: at least the ticks' age


def test_a_quiet_writer_stores_a_lone_tick_and_a_bar_after_a_silence(chdb_url, group, tmp_path):
    """The writer's own loop (run: step, then sleep idle_s) over a silent group, then one tick and one bar: both
    reach the store (counted there), the tick with no more than quiet_batch_ms of batching, the bar quiet_summary_ms."""
    import threading

    import numpy as np

    from shm.pipeline_records import BAR

    ticks = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 4096)
    bars = Ring(ring_name(group, "out.bars1s"), PRODUCER, BAR, 4096)
    writer = Writer(parse(chdb_url), WriterConfig(group=group, state_dir=str(tmp_path), feature_names=("a", "b"),
                                                  catalogue_version=1, rings=("out.ticks", "out.bars1s")))
    thread = None
    try:
        writer.start()
        assert writer.store_up, writer.store_error
        thread = threading.Thread(target=writer.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not (len(writer.batchers) == 2 and writer._quiet()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer._quiet()
        time.sleep(1.0)  # a silence of a few quiet looks
        assert ticks.push_batch(make_ticks(0, 1, time.time_ns())) == 1
        bar = np.zeros(1, BAR)
        bar["start_ns"], bar["symbol_id"], bar["close"] = time.time_ns(), 1, 100.5
        assert bars.push_batch(bar) == 1
        while writer.stats["rows_stored"].get("bars_1s", 0) + writer.stats["rows_stored"].get("ticks", 0) < 2:
            assert time.monotonic() < deadline, writer.stats
            time.sleep(0.05)
        writer.stop()
        thread.join(60)
        assert not thread.is_alive()
        store = open_store(parse(chdb_url))  # the writer closed its own at the end of run()
        store.connect()
        try:
            db = store.database
            assert [int(store.execute(f"SELECT count() FROM {db}.{t}")[0][0]) for t in ("ticks", "bars_1s")] == [1, 1]
        finally:
            store.close()
    finally:
        if thread is not None and thread.is_alive():
            writer.stop()
            thread.join(60)
        ticks.close()
        bars.close()
