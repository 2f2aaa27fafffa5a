"""Numerical stability over a million bars: incremental state vs a fresh recomputation at the end.

The long run is compared 500 bars after its last scheduled rebase (so the
incremental sums have been rolling on their own), against:
- window features: a fresh state fed only the last 600 bars (their windows
  see the same bars; only the arithmetic history differs);
- recursive features (EMA family, Wilder RSI/ATR, MACD): TA-Lib over the full series;
- OBV: an exactly rounded sum of the million signed volumes.
Series: 60,000 moving by 0.01 ticks (the cancellation case) and a 0.1% random walk.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from aggregator.features import FEATURE_COUNT, batch, index_of, names, new_state, synthetic
from aggregator.features.layout import REBASE_EVERY
from test_features_families import FLOORS, RETURN_MOMENTS

RECURSIVE = ("ema", "dema", "tema", "emadist", "rsi", "atr", "natr", "macd", "macdsig", "macdhist", "obv")
CHUNK = 8192


def run_long(bars):
    state = new_state(1)
    out = np.empty((CHUNK, FEATURE_COUNT))
    slots = np.zeros(CHUNK, np.int64)
    for begin in range(0, len(bars), CHUNK):
        part = bars[begin:begin + CHUNK]
        batch.update_records(state, part, slots[: len(part)], out[: len(part)])
    return out[len(part) - 1].copy()


def check_window_features(bars, last):
    """Same tolerance as tests/test_features_families.py: 1e-9 of max(|value|, family scale), conditioning."""
    fresh = batch.compute_records(bars[-600:])[-1]
    close = bars["close"][-300:].tolist()
    returns = np.array([math.log(b / a) for a, b in zip(close, close[1:])])
    for i, name in enumerate(names()):
        family, _, window = name.rpartition("_")
        if name.split("_")[0] in RECURSIVE:
            continue
        tolerance = 1e-9
        if family in RETURN_MOMENTS:
            x = returns[-int(window):]
            tolerance = max(tolerance, 16 * np.finfo(float).eps * abs(x.mean()) / max(x.std(), 1e-300))
        a, b = last[i], fresh[i]
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance * max(abs(b), FLOORS.get(family, 100.0)), (name, a, b)


@pytest.mark.parametrize(
    "kind, n_bars",
    [
        ("tiny", 20 * REBASE_EVERY + 500),
        pytest.param("tiny", (1_000_000 // REBASE_EVERY + 1) * REBASE_EVERY + 500, marks=pytest.mark.slow),
        pytest.param("normal", (1_000_000 // REBASE_EVERY + 1) * REBASE_EVERY + 500, marks=pytest.mark.slow),
    ],
)
def test_incremental_equals_fresh_after_many_bars(kind, n_bars):
    bars = synthetic.bars(kind, n_bars, seed=21)
    last = run_long(bars)
    check_window_features(bars, last)
    c = bars["close"].astype(np.float64)
    v = bars["volume"].astype(np.float64)
    signed = np.where(np.diff(c) > 0, v[1:], np.where(np.diff(c) < 0, -v[1:], 0.0))
    obv = math.fsum([v[0]] + signed.tolist())
    assert abs(last[index_of("obv")] - obv) <= 1e-12 * v.sum()
    talib = pytest.importorskip("talib")
    h, l = bars["high"].astype(np.float64), bars["low"].astype(np.float64)
    expected = {
        "ema_20": talib.EMA(c, 20)[-1],
        "tema_240": talib.TEMA(c, 240)[-1],
        "rsi_14": talib.RSI(c, 14)[-1],
        "atr_14": talib.ATR(h, l, c, 14)[-1],
        "macd_12_26_9": talib.MACD(c, 12, 26, 9)[0][-1],
        "macdsig_12_26_9": talib.MACD(c, 12, 26, 9)[1][-1],
    }
    for name, want in expected.items():
        scale = c[-1] * 1e-6 if name.startswith("macd") else abs(want)
        assert abs(last[index_of(name)] - want) <= 1e-9 * max(abs(want), scale), (name, last[index_of(name)], want)
