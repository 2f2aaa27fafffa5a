"""Every dashboard panel's SQL runs on ClickHouse 18.16 (the session's server) and on chDB, and reads back the
rows put in (store/panels.py)."""
from __future__ import annotations

import pytest

from dashboard_rows import NOW_S, SYMBOL_ID, sample_store  # noqa: F401 (sample_store: a fixture)
from store.panels import PANELS, Params, render
from tickagg.dashboard.series import aligned


def run_panel(store, name: str, **params) -> dict:
    panel = PANELS[name]
    values = {"range": "300", "symbol_id": str(SYMBOL_ID), **params}
    if not panel.needs_symbol:
        values.pop("symbol_id")
    statements = render(panel, Params.parse(values, NOW_S + 1), store.database)
    return aligned(panel, [store.execute(sql) for sql in statements])


@pytest.mark.parametrize("name", sorted(PANELS))
def test_every_panel_reads_the_sample_rows(sample_store, name):
    drawn = run_panel(sample_store, name)
    assert drawn["points"] > 0, drawn
    assert all(len(s["values"]) == len(drawn["x"]) for s in drawn["series"])


def test_latency_panel_gives_each_quantile_per_venue_in_ms(sample_store):
    drawn = {s["label"]: s["values"] for s in run_panel(sample_store, "tick_to_signal")["series"]}
    assert set(drawn) == {"binance p50", "binance p99", "binance p999", "binance max"}
    assert set(drawn["binance p50"]) == {1.0} and set(drawn["binance p99"]) == {3.0} and set(drawn["binance max"]) == {5.0}


def test_ticks_per_second_and_stages_and_events(sample_store):
    ticks = run_panel(sample_store, "ticks_per_second")
    assert ticks["series"][0]["label"] == "binance ticks_per_s" and set(ticks["series"][0]["values"]) == {100.0}
    stages = {s["label"] for s in run_panel(sample_store, "stages")["series"]}
    assert {"tick_to_store p99", "recv_to_pop p50"} <= stages
    events = {s["label"]: [v for v in s["values"] if v is not None] for s in run_panel(sample_store, "feed_events")["series"]}
    assert sum(events["connects"]) == 1 and sum(events["gap_trades"]) == 3


def test_regime_panel_has_price_and_regime_of_the_symbol_only(sample_store):
    drawn = {s["label"]: [v for v in s["values"] if v is not None] for s in run_panel(sample_store, "regime")["series"]}
    assert drawn["regime"] == [2.0] and set(drawn["price"]) == {100.0}
    other = run_panel(sample_store, "regime", symbol_id=str(SYMBOL_ID + 1))
    assert other["points"] == 0


@pytest.mark.parametrize("name", sorted(PANELS))
def test_every_panel_takes_a_venue(sample_store, name):
    assert run_panel(sample_store, name, exchange="binance")["points"] > 0


def test_a_venue_filter_keeps_only_that_venue(sample_store):
    assert run_panel(sample_store, "tick_to_store", exchange="binance")["points"] > 0
    assert run_panel(sample_store, "tick_to_store", exchange="okx")["points"] == 0


def test_a_range_before_the_rows_is_empty_and_a_day_is_bucketed_by_minutes(sample_store):
    assert run_panel(sample_store, "tick_to_store", to=str(NOW_S - 3600))["points"] == 0
    day = run_panel(sample_store, "ticks_per_second", range=str(24 * 3600))
    assert len(day["x"]) >= 1 and all(t % 60 == 0 for t in day["x"])
