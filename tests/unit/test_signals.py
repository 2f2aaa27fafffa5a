"""The per-tick signal (aggregator/signals.py) against a plain-Python reference of the same EMAs."""
from __future__ import annotations

import math

import numba
import numpy as np

from aggregator import bars, signals
from aggregator.regime import NORMAL, TURBULENT
from shm.pipeline_records import SIGNAL
from shm.records import TICK


@numba.njit
def _emit_all(ticks, slots, live, bar_values, smoothing, out, pop_ns):
    for i in range(ticks.size):
        signals.emit(out[i], live, bar_values, smoothing, slots[i], ticks[i], pop_ns)


def _ticks(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, TICK)
    ticks["ts_recv_ns"] = np.arange(n) + 1_000
    ticks["price"] = 100 + rng.normal(0, 0.3, n).cumsum()
    ticks["size"] = rng.uniform(0.01, 2.0, n)
    ticks["side"] = rng.choice(np.array([-1, 0, 1]), n)
    ticks["symbol_id"] = rng.integers(1, 4, n)
    ticks["exchange_id"] = 2
    return ticks


def _reference(ticks, slots, smoothing):
    """ema_fast, ema_slow, signed volume EMA and imbalance per tick, one symbol slot at a time."""
    state: dict[int, list[float]] = {}
    rows = []
    for tick, slot in zip(ticks, slots):
        price, size, side = float(tick["price"]), float(tick["size"]), int(tick["side"])
        if slot not in state:
            state[slot] = [price, price, 0.0, 0.0, 0.0]
        else:
            state[slot][0] += smoothing.fast * (price - state[slot][0])
            state[slot][1] += smoothing.slow * (price - state[slot][1])
        fast, slow, signed, buy, sell = state[slot]
        signed += smoothing.volume * (side * size - signed)
        buy += smoothing.volume * ((size if side > 0 else 0.0) - buy)
        sell += smoothing.volume * ((size if side < 0 else 0.0) - sell)
        state[slot] = [fast, slow, signed, buy, sell]
        rows.append((fast, slow, signed, (buy - sell) / (buy + sell) if buy + sell > 0 else math.nan))
    return np.array(rows)


def test_signal_matches_reference_per_symbol():
    ticks = _ticks(2_000)
    slots = ticks["symbol_id"].astype(np.int64) - 1
    live = signals.new_live(4)
    live["regime"][1] = TURBULENT
    book = bars.new_book(4, 1_000_000_000, 0, 0)
    book.values["volume"][0, bars.NEWER] = 4.0
    book.values["pv"][0, bars.NEWER] = 4.0 * 101.5
    smoothing = signals.new_smoothing(10, 100, 50)
    out = np.zeros(ticks.size, SIGNAL)
    _emit_all(ticks, slots, live, book.values, smoothing, out, 77)

    expected = _reference(ticks, slots, smoothing)
    np.testing.assert_allclose(out["ema_fast"], expected[:, 0], rtol=1e-12)
    np.testing.assert_allclose(out["ema_slow"], expected[:, 1], rtol=1e-12)
    np.testing.assert_allclose(out["signed_volume_ema"], expected[:, 2], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["trade_imbalance"], expected[:, 3], rtol=1e-12, atol=1e-15)
    assert (out["regime"] == np.where(slots == 1, TURBULENT, NORMAL)).all()
    assert (out["bar_vwap"][slots == 0] == 101.5).all() and np.isnan(out["bar_vwap"][slots != 0]).all()
    assert (out["ts_pop_ns"] == 77).all() and (out["ts_recv_ns"] == ticks["ts_recv_ns"]).all()
    assert (out["symbol_id"] == ticks["symbol_id"]).all() and (out["side"] == ticks["side"]).all()
    assert list(live["ticks"][:3]) == [int((slots == s).sum()) for s in range(3)] and live["ticks"][3] == 0


def test_first_tick_seeds_the_price_emas():
    ticks = _ticks(1)
    live = signals.new_live(1)
    out = np.zeros(1, SIGNAL)
    _emit_all(ticks, np.zeros(1, np.int64), live, bars.new_book(1, 1_000_000_000, 0, 0).values,
              signals.new_smoothing(10, 100, 50), out, 0)
    assert out["ema_fast"][0] == out["ema_slow"][0] == ticks["price"][0]
    assert out["regime"][0] == NORMAL
