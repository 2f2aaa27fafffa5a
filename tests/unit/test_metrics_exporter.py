"""The Prometheus collector over a hand-made snapshot and published histograms: families, labels (never a
symbol), unknown values left out; and the [ADDR:]PORT argument."""
from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from shm import histogram
from shm import histogram_segment as hs
from shm.pipeline_records import STAGE_TICK_TO_SIGNAL, STAGE_TICK_TO_STORE
from tickagg.metrics_exporter import GroupCollector, parse_address

SNAPSHOT = {
    "group": "g", "time_ns": 1, "rings": 9, "unreadable": ["okx.events"],
    "venues": {
        "binance": {"alive": True, "connections": 2, "ticks": 1234, "drops": 5, "gaps": 1, "reconnects": 3,
                    "errors": 4, "errors_by_kind": {"json": 3, "schema": 1}, "last_tick_age_s": 0.25,
                    "lag_records": 7},
        "okx": {"alive": False, "connections": 0, "ticks": 10, "drops": 0, "gaps": 0, "reconnects": 0, "errors": 0,
                "errors_by_kind": {}, "last_tick_age_s": None, "lag_records": 0},
    },
    "aggregator": {"alive": True, "ticks": 1240, "lag_records": 7, "lag_s": 0.002, "tick_to_signal_p99_ms": 0.1},
    "writer": {"alive": True, "rows_stored": {"ticks": 1200, "bars1s": 30}, "lag_records": 40, "spill_rows": 0,
               "spill_bytes": 4096, "dead_letter_rows": None, "store_up": True, "store_error": None},
}


def _scrape(group: str, snapshot: dict) -> dict[str, list]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GroupCollector(group, snapshot=lambda: snapshot))
    text = generate_latest(registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _value(samples, name: str, **labels) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def test_counters_and_gauges_per_venue_role_and_table(group):
    families = _scrape(group, SNAPSHOT)
    assert _value(families["tickagg_ticks"], "tickagg_ticks_total", venue="binance") == 1234
    assert _value(families["tickagg_drops"], "tickagg_drops_total", venue="binance") == 5
    assert _value(families["tickagg_parse_errors"], "tickagg_parse_errors_total", venue="binance", kind="json") == 3
    assert _value(families["tickagg_connections"], "tickagg_connections", venue="okx") == 0
    assert _value(families["tickagg_feed_up"], "tickagg_feed_up", venue="okx") == 0
    assert _value(families["tickagg_lag_records"], "tickagg_lag_records", role="writer") == 40
    assert _value(families["tickagg_rows_written"], "tickagg_rows_written_total", table="bars1s") == 30
    assert _value(families["tickagg_spill_bytes"], "tickagg_spill_bytes") == 4096
    assert _value(families["tickagg_unreadable_rings"], "tickagg_unreadable_rings") == 1
    assert families["tickagg_dead_letter_rows"] == []  # unknown: left out, never 0
    assert not [s for s in families["tickagg_last_tick_age_seconds"] if s.labels["venue"] == "okx"]
    assert "tickagg_latency_seconds" not in families  # nothing published yet


def test_latency_histograms_per_stage_and_venue_in_microsecond_buckets(group):
    signal, store = np.zeros(hs.SHAPE, np.int64), np.zeros(hs.SHAPE, np.int64)
    histogram.add(signal[STAGE_TICK_TO_SIGNAL, 1], np.array([800, 1500, 40_000, 3_000_000]))  # binance
    histogram.add(store[STAGE_TICK_TO_STORE, 3], np.array([20_000_000]))  # coinbase
    aggregator, writer = hs.HistogramPublisher(group, "aggregator"), hs.HistogramPublisher(group, "writer")
    try:
        aggregator.publish(signal)
        writer.publish(store)
        samples = _scrape(group, {})["tickagg_latency_seconds"]
    finally:
        aggregator.close()
        writer.close()
    series = {tuple(sorted((k, v) for k, v in s.labels.items() if k != "le")) for s in samples}
    assert series == {(("stage", "tick_to_signal"), ("venue", "binance")), (("stage", "tick_to_store"), ("venue", "coinbase"))}
    bucket = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket") and s.labels["venue"] == "binance"}
    assert (bucket["1e-06"], bucket["2e-06"], bucket["5e-05"], bucket["0.005"], bucket["+Inf"]) == (1, 2, 3, 4, 4)
    assert _value(samples, "tickagg_latency_seconds_count", stage="tick_to_store", venue="coinbase") == 1
    assert abs(_value(samples, "tickagg_latency_seconds_sum", stage="tick_to_signal", venue="binance")
               - 3.0423e-3) < 3.0423e-3 / 32


def test_no_label_names_a_symbol(group):
    for samples in _scrape(group, SNAPSHOT).values():
        for sample in samples:
            assert set(sample.labels) <= {"venue", "kind", "role", "table", "stage", "le"}


@pytest.mark.parametrize("text,address", [("9464", ("127.0.0.1", 9464)), ("0.0.0.0:80", ("0.0.0.0", 80)),
                                          ("[::1]:9464", ("::1", 9464)), ("localhost:0", ("localhost", 0))])
def test_addresses(text, address):
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["", "65536", "host:", ":9464", "a b:1", "1.2.3.4:99999", "[::1]", "x;y:1"])
def test_bad_addresses(text):
    with pytest.raises(ValueError, match="bad metrics address"):
        parse_address(text)
