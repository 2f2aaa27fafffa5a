"""A few rows in every table the dashboard reads, through the store's own insert path (Int64 ns on 18.16,
DateTime64 on current servers), for the panel query tests; ``sample_store``: a store holding them, on both
stores (the page's panels: test_dashboard_queries.py; Grafana's: test_grafana_dashboards.py)."""
from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from shm.pipeline_records import BAR, EVENT, EVENT_CONNECT, EVENT_GAP, FEATURE_ROW, LATENCY, REGIME, STAGE_NAMES
from store import open_store
from store.batch import Batch
from store.tables import BY_NAME
from stores import need_chdb

SYMBOL_ID = 7
EXCHANGE_ID = 1  # binance
NOW_S = int(time.time())  # ``sample_store``'s rows end here: the tests ask for the time range up to it


@pytest.fixture(scope="module", params=["clickhouse", "chdb"])
def sample_store(request, tmp_path_factory):
    """A store with the sample rows up to NOW_S, on the session's ClickHouse 18.16 server, then on chDB (a new
    database for each test module that imports this fixture)."""
    if request.param == "chdb":
        need_chdb()
        url = f"chdb://{tmp_path_factory.mktemp('samplechdb') / 'db'}"
    else:
        url = request.getfixturevalue("clickhouse_server").url(database=f"s{uuid.uuid4().hex[:10]}")
    store = open_store(url)
    store.connect()
    store.setup(["f0"], 0)
    insert_sample(store, NOW_S)
    yield store
    store.close()


def insert_sample(store, now_s: int) -> None:
    """Ten seconds of latency rows per stage, bars, a feature row, a regime row and two feed events."""
    store.insert_rows(f"{store.database}.symbols", ["symbol_id", "exchange", "symbol", "first_seen_ns"],
                      [(SYMBOL_ID, "binance", "BTCUSDT", now_s * 10**9)])
    seconds = np.arange(now_s - 10, now_s, dtype=np.int64) * 10**9
    latency = np.zeros(len(seconds) * len(STAGE_NAMES), LATENCY)
    latency["second_ns"] = np.repeat(seconds, len(STAGE_NAMES))
    latency["stage"] = np.tile(np.arange(len(STAGE_NAMES)), len(seconds))
    latency["exchange_id"], latency["count"] = EXCHANGE_ID, 100
    for i, column in enumerate(("p50", "p90", "p99", "p999", "max")):
        latency[column] = (i + 1) * 1e6  # 1, 2, 3, 4, 5 ms
    bars = np.zeros(len(seconds), BAR)
    bars["start_ns"], bars["symbol_id"], bars["interval_s"], bars["close"] = seconds, SYMBOL_ID, 1, 100.0
    minute = np.zeros(1, BAR)
    minute["start_ns"], minute["symbol_id"], minute["interval_s"], minute["close"] = seconds[0], SYMBOL_ID, 60, 100.0
    features = np.zeros(1, FEATURE_ROW)
    features["start_ns"], features["symbol_id"] = seconds[0], SYMBOL_ID
    regime = np.zeros(1, REGIME)
    regime["start_ns"], regime["symbol_id"], regime["regime"] = seconds[0], SYMBOL_ID, 2
    events = np.zeros(2, EVENT)
    events["ts_ns"], events["exchange_id"], events["kind"], events["value"] = seconds[:2], EXCHANGE_ID, (EVENT_CONNECT, EVENT_GAP), (1, 3)
    for i, (table, records) in enumerate((("latency", latency), ("bars_1s", bars), ("bars_1m", minute),
                                          ("features", features), ("regime", regime), ("events", events))):
        store.insert(Batch("sample", 1, i, i + len(records), BY_NAME[table], records))
