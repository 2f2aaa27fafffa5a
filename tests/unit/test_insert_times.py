"""The writer's insert durations per table (writer/insert_times.py) and what bench e2e takes from two reports."""
from __future__ import annotations

import orjson
import pytest

from writer.insert_times import InsertTimes, window


def test_status_counts_each_table_apart_with_its_quantiles_and_seconds():
    times = InsertTimes()
    for ms in range(1, 101):  # ticks: 1..100 ms
        times.record("ticks", ms * 1_000_000)
    times.record("bars_1s", 7_000_000)
    status = orjson.loads(orjson.dumps(times.status()))  # as the status file carries it
    ticks, bars = status["ticks"], status["bars_1s"]
    assert ticks["count"] == 100 and bars["count"] == 1
    assert ticks["seconds"] == pytest.approx(5.05)  # 1 + 2 + ... + 100 ms
    assert ticks["p50_ms"] == pytest.approx(50, rel=1 / 32)  # within half a bucket (shm/histogram.py)
    assert ticks["p99_ms"] == pytest.approx(99, rel=1 / 32)
    assert ticks["max_ms"] == pytest.approx(100, rel=1 / 32)
    assert bars["p50_ms"] == bars["max_ms"] == pytest.approx(7, rel=1 / 32)
    assert sum(count for _, count in ticks["buckets"]) == 100


def test_window_is_what_happened_between_two_reports():
    times = InsertTimes()
    for _ in range(10):
        times.record("ticks", 200_000_000)  # before the window: slow ones
    before = orjson.loads(orjson.dumps(times.status()))
    for _ in range(40):
        times.record("ticks", 10_000_000)
    times.record("features", 500_000_000)  # a table first seen in the window
    after = orjson.loads(orjson.dumps(times.status()))
    got = window(before, after, seconds=2.0)
    assert got["ticks"]["per_s"] == 20.0
    assert got["ticks"]["p99_ms"] == pytest.approx(10, rel=1 / 32)  # the 200 ms ones were before
    assert got["ticks"]["busy_pct"] == pytest.approx(20.0)  # 0.4 s of 2
    assert got["features"]["per_s"] == 0.5 and got["features"]["max_ms"] == pytest.approx(500, rel=1 / 32)
    assert got["all"]["busy_pct"] == pytest.approx(45.0)  # 0.9 s of 2


def test_a_table_without_inserts_in_the_window_is_left_out():
    times = InsertTimes()
    times.record("regime", 3_000_000)
    same = times.status()
    assert window(same, same, seconds=1.0) == {"all": {"busy_pct": 0.0}}
    assert window({}, {}, seconds=1.0) == {"all": {"busy_pct": 0.0}}


def test_a_table_whose_counts_went_down_is_left_out():
    """A writer that restarted between two reports counts from 0 again: its table is not taken apart."""
    first, again = InsertTimes(), InsertTimes()
    for _ in range(5):
        first.record("ticks", 10_000_000)
    for _ in range(7):
        again.record("ticks", 3_000_000)
    assert "ticks" not in window(first.status(), again.status(), seconds=1.0)
