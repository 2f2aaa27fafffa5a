"""An idle group's writer works on the report's beat: while every ring is quiet a look between beats reads only
out.ticks' head, and the beat does the inserts, summary looks, rescan and report that fall due before the next one;
a burst still ends the quiet at the next look. A summary ring looked at every quiet age may bring that many seconds'
rows at once without ending its quiet."""
from __future__ import annotations

import time

import numpy as np
import pytest

from bench.writer_command import make_ticks
from shm.pipeline_records import BAR, STAMPED_TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from store import parse
from store.tables import BARS_1S, TICKS
from writer.batcher import QUIET_ROWS, RingBatcher
from writer.writer import QUIET_LATENCY_S, QUIET_LOOK_S, Writer, WriterConfig, _after


def _bars(count: int) -> np.ndarray:
    bars = np.zeros(count, BAR)
    bars["start_ns"], bars["symbol_id"], bars["close"] = time.time_ns(), np.arange(count) % 7 + 1, 100.5
    return bars


def test_a_summary_ring_brings_its_quiet_ages_rows_at_once_and_stays_quiet(group):
    """out.latency brings ~30 rows a second whatever the traffic: looked at every 2 s, 60 rows at once are no burst
    there; on out.ticks (looked at every 0.2 s) QUIET_ROWS rows are."""
    quiet_s = 2.0
    rows = int(QUIET_ROWS * 1.2)
    for short, dtype, table, quiet_after in (("out.bars1s", BAR, BARS_1S, True), ("out.ticks", STAMPED_TICK, TICKS, False)):
        name = ring_name(group, short)
        producer = Ring(name, PRODUCER, dtype, 4096)
        consumer = Ring(name, CONSUMER, dtype, numba=False)
        try:
            batcher = RingBatcher(consumer, table, 1000, quiet_s)
            assert batcher.pop() == 0 and batcher.quiet
            records = _bars(rows) if dtype is BAR else make_ticks(0, rows, 10**18)
            assert producer.push_batch(records) == rows
            assert batcher.unpopped() == rows  # seen from the header, before the pop (a quiet look between beats)
            assert batcher.pop() == rows
            assert batcher.quiet is quiet_after, short
            if quiet_after:  # ... up to quiet_s seconds' worth of QUIET_ROWS a second
                assert producer.push_batch(_bars(int(QUIET_ROWS * quiet_s) - rows)) > 0
                batcher.pop()
                assert not batcher.quiet
        finally:
            consumer.close()
            producer.close()


def test_a_chore_keeps_its_schedule_when_done_a_little_early_and_restarts_when_late():
    assert _after(10.0, 1.0, 9.8) == 11.0  # done 0.2 s early on a look: the next one is still a second after
    assert _after(10.0, 1.0, 10.3) == 11.0
    assert _after(10.0, 1.0, 14.0) == 15.0  # fell behind: from now, not a run of catch-ups


@pytest.fixture
def quiet_writer(chdb_url, group, tmp_path):
    ticks = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 14)
    bars = Ring(ring_name(group, "out.bars1s"), PRODUCER, BAR, 4096)
    writer = Writer(parse(chdb_url), WriterConfig(group=group, state_dir=str(tmp_path), feature_names=("a", "b"),
                                                  catalogue_version=1, rings=("out.ticks", "out.bars1s")))
    try:
        writer.start()
        assert writer.store_up, writer.store_error
        yield writer, ticks, bars
    finally:
        writer.shutdown()
        ticks.close()
        bars.close()


def _run(writer: Writer, seconds: float, every_s: float, push) -> None:
    """The writer's loop (step, then sleep idle_s), with ``push()`` called every ``every_s`` between steps (a stalled
    loop does not catch up: no burst)."""
    end = time.monotonic() + seconds
    next_push = time.monotonic()
    while (now := time.monotonic()) < end:
        if now >= next_push:
            push()
            next_push = now + every_s
        if not writer.step():
            time.sleep(max(0.0, min(writer.idle_s(end), next_push - time.monotonic())))


def test_an_idle_writer_works_once_a_beat_and_stores_every_tick(quiet_writer):
    writer, ticks, bars = quiet_writer
    pushed = [0]

    def push():  # 10 ticks/s, a bar a second: quiet
        assert ticks.push_batch(make_ticks(pushed[0], 1, time.time_ns())) == 1
        pushed[0] += 1
        if pushed[0] % 10 == 0:
            assert bars.push_batch(_bars(1)) == 1

    _run(writer, 1.5, 0.1, push)  # attached, and quiet
    assert writer._quiet()
    full = {"steps": 0, "reports": 0}
    ticks_pop, report = writer._ticks.pop, writer._report

    def counted_pop(*args):
        full["steps"] += 1  # a full step pops every ring; a calm look none
        return ticks_pop(*args)

    def counted_report():
        full["reports"] += 1
        report()

    writer._ticks.pop, writer._report = counted_pop, counted_report
    seconds = 4.0
    _run(writer, seconds, 0.1, push)
    # looks every QUIET_LOOK_S (a push every 0.1 s wakes it more often still), full steps about once a beat
    assert full["reports"] <= seconds + 1
    assert full["steps"] <= 2 * seconds + 2, full  # without the beat: every look and push, ~40
    deadline = time.monotonic() + 30
    while writer.stats["rows_stored"].get("ticks", 0) < pushed[0]:  # the last quiet batch falls due on a beat
        assert time.monotonic() < deadline, (writer.stats, pushed)
        _run(writer, 0.5, 1e9, lambda: None)
    assert writer.stats["rows_stored"]["ticks"] == pushed[0]


def test_a_burst_after_a_silence_ends_the_quiet_at_the_next_look_not_the_beat(quiet_writer):
    writer, ticks, _ = quiet_writer
    _run(writer, 1.5, 1e9, lambda: None)
    assert writer._quiet() and writer._calm_until > 0
    writer._next_report = time.monotonic() + 3600  # no beat in this test: the burst alone must be seen
    writer._calm_until = min(writer._calm_until, writer._next_report)
    stored = writer.stats["rows_stored"].get("ticks", 0)
    assert ticks.push_batch(make_ticks(10**6, QUIET_ROWS * 2, time.time_ns())) == QUIET_ROWS * 2
    pushed_at = time.monotonic()
    while writer.stats["rows_stored"].get("ticks", 0) < stored + QUIET_ROWS * 2:
        assert time.monotonic() - pushed_at < 5, writer.stats
        if not writer.step():
            time.sleep(writer.idle_s())
    # seen within a look, stored within batch_ms of that (generous: a loaded CI machine), not on a beat an hour away
    assert time.monotonic() - pushed_at < QUIET_LOOK_S + writer.config.batch_ms / 1000 + 1.0
    assert not writer._quiet()


def test_a_stopping_writer_stores_what_its_quiet_rings_hold_unpopped(chdb_url, group, tmp_path):
    """Between beats a quiet ring is not popped: the stop pops every ring once more, so a clean stop of the group
    (producers first) leaves nothing behind that fits in a batch."""
    ticks = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 4096)
    bars = Ring(ring_name(group, "out.bars1s"), PRODUCER, BAR, 4096)
    writer = Writer(parse(chdb_url), WriterConfig(group=group, state_dir=str(tmp_path), feature_names=("a", "b"),
                                                  catalogue_version=1, rings=("out.ticks", "out.bars1s")))
    try:
        writer.start()
        _run(writer, 1.5, 1e9, lambda: None)
        assert writer._quiet() and writer._calm_until > time.monotonic()
        assert ticks.push_batch(make_ticks(0, 3, time.time_ns())) == 3 and bars.push_batch(_bars(1)) == 1
        assert not writer.step()  # a calm look: nothing popped
        assert writer._ticks.count == 0 and writer._ticks.unpopped() == 3
    finally:
        writer.shutdown()
        ticks.close()
        bars.close()
    assert writer.stats["rows_stored"] == {"ticks": 3, "bars_1s": 1}


def test_while_quiet_the_writers_own_latency_rows_wait_the_quiet_summary_age(quiet_writer):
    """chDB's quiet summaries wait 10 s: the writer's own latency rows too, not QUIET_LATENCY_S (5 s): each is an
    insert and its check."""
    writer, _, _ = quiet_writer
    assert writer.config.quiet_summary_ms / 1000 > QUIET_LATENCY_S
    _run(writer, 1.5, 1e9, lambda: None)
    assert writer._quiet()
    flushed = []
    flush = writer._flush_latency
    writer._flush_latency = lambda *a, **k: (flushed.append(time.monotonic()), flush(*a, **k))
    writer._latency_stored_s = time.monotonic() - QUIET_LATENCY_S - 0.5  # QUIET_LATENCY_S ago, under the summary age
    _run(writer, 2.5, 1e9, lambda: None)  # two beats or more
    assert flushed == []
    writer._latency_stored_s = time.monotonic() - writer.config.quiet_summary_ms / 1000
    _run(writer, 1.5, 1e9, lambda: None)  # the next beat
    assert len(flushed) == 1
