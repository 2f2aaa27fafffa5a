"""`tickagg summary` on both stores: rows per table and per named symbol, latency per stage, features by name."""
from __future__ import annotations

import subprocess
import sys
import uuid

import numpy as np

from shm.pipeline_records import BAR, FEATURE_ROW, LATENCY, REGIME, STAGE_TICK_TO_SIGNAL, STAMPED_TICK
from shm.symbols import SymbolDirectory
from store import open_store
from store.batch import Batch
from store.tables import BARS_1M, FEATURES, LATENCIES, REGIMES, TICKS

MINUTE = 60_000_000_000
START = 1_790_000_000 * 10**9 // MINUTE * MINUTE


def _fill(store, names, btc, eth):
    ticks = np.zeros(5, STAMPED_TICK)
    ticks["symbol_id"] = [btc, btc, btc, eth, eth]
    ticks["ts_exchange_ns"] = ticks["ts_recv_ns"] = START + np.arange(5) * 10**9
    ticks["price"] = [100.0, 101, 102, 10, 11]
    ticks["size"] = ticks["trade_id"] = np.arange(1, 6)
    bars = np.zeros(2, BAR)
    bars["symbol_id"], bars["start_ns"], bars["interval_s"] = [btc, eth], START, 60
    features = np.zeros(1, FEATURE_ROW)
    features["symbol_id"], features["start_ns"] = btc, START
    features["values"][0] = np.nan
    features["values"][0][names.index("obv")] = 42.5
    regime = np.zeros(1, REGIME)
    regime["symbol_id"], regime["start_ns"] = btc, START
    latency = np.zeros(3, LATENCY)
    latency["stage"], latency["count"] = STAGE_TICK_TO_SIGNAL, 10
    latency["second_ns"] = START + np.arange(3) * 10**9
    latency["p50"], latency["p99"], latency["max"] = [1e6, 3e6, 2e6], [2e6, 4e6, 3e6], 5e6
    for i, (table, records) in enumerate([(TICKS, ticks), (BARS_1M, bars), (FEATURES, features),
                                          (REGIMES, regime), (LATENCIES, latency)]):
        store.insert(Batch(f"tickagg.s.{table.name}", 1, 0, len(records), table, records))


def test_summary_names_symbols_and_features(store_url):
    from aggregator.features.catalogue import names

    group = f"sum{uuid.uuid4().hex[:8]}"
    directory = SymbolDirectory(group)
    try:
        btc, eth = directory.id_of("binance", "BTCUSDT"), directory.id_of("kraken", "ETH/USD")
        store = open_store(store_url)
        store.connect()
        store.setup(list(names()))
        _fill(store, list(names()), btc, eth)
        store.close()
        done = subprocess.run([sys.executable, "-m", "tickagg", "summary", "--store", store_url, "--group", group],
                              capture_output=True, text=True, timeout=120)
    finally:
        directory.close()
        subprocess.run([sys.executable, "-m", "tickagg", "rings", "--remove", group], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    lines = {}
    for line in out.splitlines():  # the first line that starts with a name: the tables come in order
        if line.split():
            lines.setdefault(line.split()[0], line.split())
    example = [line.split() for line in out.splitlines() if line.startswith("binance:BTCUSDT")][-1]
    assert lines["ticks"][1] == "5" and lines["bars_1m"][1] == "2" and lines["features"][1] == "1"
    assert lines["binance:BTCUSDT"][1:] == ["3", "1", "1", "1"]
    assert lines["kraken:ETH/USD"][1:] == ["2", "1", "0", "0"]
    # tick_to_signal: median of the per-second p50s (1, 3, 2 ms) and p99s (2, 4, 3 ms), worst p99 4 ms
    assert lines["tick_to_signal"][1:] == ["30", "2.0", "3.0", "4.0"]
    assert example[-3:] in (["42.5", "nan", "nan"], ["42.5", "None", "None"]), example  # obv, ema_5, rsi_14
    assert "1 of 1400 features have a value" in out


def test_summary_before_any_minute_bar_says_why(store_url):
    from aggregator.features.catalogue import names

    store = open_store(store_url)
    store.connect()
    store.setup(list(names()))
    store.close()
    done = subprocess.run([sys.executable, "-m", "tickagg", "summary", "--store", store_url, "--group", "nosuchgroup"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "no minute bars or feature rows yet" in done.stderr
