"""The dashboard's live history: one sample a second for the last hour, one a minute before, and panels in the
series layout (tickagg/dashboard/live.py)."""
from __future__ import annotations

from tickagg.dashboard import live
from tickagg.dashboard.live import LiveHistory, sample

SNAPSHOT = {"venues": {"okx": {"drops": 3, "gaps": 1, "reconnects": 0}},
            "aggregator": {"lag_records": 5}, "writer": {"lag_records": 7, "spill_rows": None, "spill_bytes": 1 << 20}}


def test_a_snapshot_becomes_one_value_per_series():
    values = sample(SNAPSHOT)
    assert values["writer"] == {"writer_lag_records": 7, "aggregator_lag_records": 5, "spill_rows": None, "spill_mb": 1.0}
    assert values["feed_counters"] == {"okx drops": 3, "okx gaps": 1, "okx reconnects": 0}
    assert sample({}) == {"writer": dict.fromkeys(values["writer"]), "feed_counters": {}}


def test_seventy_minutes_of_samples_keep_the_last_hour_by_second_and_earlier_by_minute(monkeypatch):
    history = LiveHistory("g", "/nonexistent")
    clock = [1_800_000_000]
    monkeypatch.setattr(live.time, "time", lambda: clock[0])
    monkeypatch.setattr("tickagg.group_snapshot.read_group", lambda group, state_dir: SNAPSHOT)
    for _ in range(3600 + 600):
        history.take()
        clock[0] += 1
    drawn = history.panel("writer", clock[0] - 2 * 3600, clock[0])
    assert len(drawn["x"]) == 3600 + 10 and drawn["x"] == sorted(drawn["x"])
    assert drawn["points"] == 3 * len(drawn["x"])  # spill_rows is None: a gap, not a point
    assert history.panel("writer", clock[0] - 300, clock[0])["x"] == list(range(clock[0] - 300, clock[0]))
