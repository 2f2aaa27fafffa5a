"""`tickagg status` as text (rows per venue, aggregator and writer, rates between two snapshots) and where it
looks for the group and the writer's status file."""
from __future__ import annotations

import argparse
import copy
import re

import pytest

from tickagg.args import UsageError
from tickagg.snapshot_rates import rates
from tickagg.status_command import resolve
from tickagg.status_view import render


def _snapshot(time_s: float, ticks: int, stored: int) -> dict:
    venue = {"alive": True, "connections": 1, "ticks": ticks, "drops": 0, "gaps": 2, "reconnects": 1, "errors": 3,
             "errors_by_kind": {"json": 2, "bad_price": 1}, "last_tick_age_s": 0.25, "lag_records": 4}
    return {
        "group": "g", "time_ns": int(time_s * 1e9), "rings": 12, "unreadable": [],
        "venues": {"binance": venue, "okx": {**venue, "alive": False, "connections": 0, "errors_by_kind": {},
                                              "last_tick_age_s": 130.0}},
        "aggregator": {"alive": True, "ticks": 2 * ticks, "lag_records": 8, "lag_s": 0.002, "tick_to_signal_p99_ms": 1.25},
        "writer": {"alive": True, "lag_records": 5, "rows_stored": {"ticks": stored, "bars_1s": 10}, "spill_rows": 0,
                   "spill_bytes": 3 << 20, "dead_letter_rows": 0, "store_up": True, "store_error": None,
                   "report_age_s": 0.5, "report": "/x/g/status.json", "report_error": None},
    }


def test_rows_per_venue_aggregator_and_writer_with_rates():
    earlier, later = _snapshot(100.0, 1000, 500), _snapshot(102.0, 1400, 1300)
    lines = render(later, rates(earlier, later))
    text = "\n".join(lines)
    assert lines[0].startswith("tickagg group g ") and "\x1b" not in text
    binance = next(line for line in lines if line.startswith("binance"))
    assert binance.split() == ["binance", "yes", "1", "1,400", "200/s", "0", "2", "1", "3", "0.2", "s"]
    assert "errors: json 2, bad_price 1" in text
    okx = next(line for line in lines if line.startswith("okx"))
    assert okx.split()[:3] == ["okx", "DEAD", "0"] and okx.endswith("2 min")
    aggregator = next(line for line in lines if line.startswith("aggregator"))
    assert "2,800 ticks (400/s)" in aggregator and "lag 8 records (0.0 s)" in aggregator and "p99 1.25 ms" in aggregator
    writer = next(line for line in lines if line.startswith("writer"))
    assert "1,310 rows stored (400/s; ticks 1,300)" in writer and "spill 0 rows (3.0 MiB)" in writer


def test_without_rates_and_with_trouble():
    snapshot = _snapshot(100.0, 10, 5)
    snapshot["unreadable"] = ["out.ticks"]
    writer = snapshot["writer"]
    writer.update(alive=False, spill_rows=None, spill_bytes=None, dead_letter_rows=7, store_error="store not reachable")
    text = "\n".join(render(snapshot))
    assert "-/s" in text and "spill ? rows (? B)" in text and "7 rows refused (dead letters)" in text
    assert "STORE DOWN: store not reachable" in text and "damaged or refused rings: out.ticks" in text
    assert "\nwriter     DEAD" in text
    writer.update(report_error="/x/g/status.json: not JSON", report_age_s=None)
    assert "status file unreadable: /x/g/status.json: not JSON" in "\n".join(render(snapshot))
    writer.update(report_error=None)
    assert "no status file yet (/x/g/status.json)" in "\n".join(render(snapshot))


def test_a_counter_that_went_down_has_no_rate():
    earlier, later = _snapshot(100.0, 1000, 500), _snapshot(101.0, 10, 5)  # restarted processes count from 0
    change = rates(earlier, later)
    assert change["venues"]["binance"]["ticks_per_s"] is None and change["writer"]["rows_per_s"] is None
    assert rates(later, copy.deepcopy(later))["aggregator"]["ticks_per_s"] is None  # no time passed


def _args(**given) -> argparse.Namespace:
    return argparse.Namespace(**{"group": None, "state_dir": None, "config": None, **given})


def test_group_and_state_dir_by_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("TICKAGG_GROUP", raising=False)
    monkeypatch.delenv("TICKAGG_STATE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve(_args()) == ("default", "./data/writer")
    deployment = tmp_path / "tickagg.toml"
    deployment.write_text('group = "fromfile"\ndata_dir = "/srv/tickagg"\n')
    assert resolve(_args(config=str(deployment))) == ("fromfile", "/srv/tickagg/writer")
    monkeypatch.setenv("TICKAGG_GROUP", "fromenv")
    monkeypatch.setenv("TICKAGG_STATE_DIR", "/state")
    assert resolve(_args(config=str(deployment))) == ("fromenv", "/state")
    assert resolve(_args(config=str(deployment), group="given", state_dir="/given")) == ("given", "/given")
    deployment.write_text('group = "a.b"\n')
    with pytest.raises(UsageError, match="group"):
        resolve(_args(config=str(deployment)))


def _inserts(count: int, buckets: list[list[int]]) -> dict:
    return {"count": count, "seconds": 0.01 * count, "p99_ms": 9.0, "buckets": buckets}


def test_the_writer_line_shows_the_ticks_inserts_p99_between_views_else_since_start():
    from shm.histogram import bucket_of

    fast, slow = int(bucket_of(5_000_000)), int(bucket_of(80_000_000))  # 5 ms and 80 ms
    earlier, later = _snapshot(100.0, 1000, 500), _snapshot(102.0, 1400, 1300)
    earlier["writer"]["tick_inserts"] = _inserts(100, [[fast, 100]])
    later["writer"]["tick_inserts"] = _inserts(300, [[fast, 280], [slow, 20]])  # 20 slow ones of 200 between
    change = rates(earlier, later)
    assert change["writer"]["ticks_insert_p99_ms"] == pytest.approx(80, rel=1 / 32)
    writer = next(line for line in render(later, change) if line.startswith("writer"))
    shown = re.search(r"ticks inserts p99 ([0-9.]+) ms", writer)
    assert shown and float(shown.group(1)) == pytest.approx(80, rel=1 / 32), writer
    assert "since it started" not in writer
    alone = next(line for line in render(later) if line.startswith("writer"))
    assert alone.endswith("ticks inserts p99 9.0 ms since it started")


def test_no_inserts_between_views_or_a_restarted_writer_gives_no_insert_p99():
    earlier, later = _snapshot(100.0, 1000, 500), _snapshot(102.0, 1400, 1300)
    earlier["writer"]["tick_inserts"] = later["writer"]["tick_inserts"] = _inserts(10, [[400, 10]])
    assert rates(earlier, later)["writer"]["ticks_insert_p99_ms"] is None  # none between them
    later["writer"]["tick_inserts"] = _inserts(30, [[300, 30]])  # more in all, but bucket 400 went down: restarted
    assert rates(earlier, later)["writer"]["ticks_insert_p99_ms"] is None
    later["writer"]["tick_inserts"] = None  # an older writer: no "inserts" in its report
    assert rates(earlier, later)["writer"]["ticks_insert_p99_ms"] is None
    assert "ticks inserts" not in next(line for line in render(later) if line.startswith("writer"))
