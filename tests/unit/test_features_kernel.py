"""The update kernel as the aggregator uses it: from @njit code, many slots, odd input."""
from __future__ import annotations

import math

import numba
import numpy as np

from aggregator.features import FEATURE_COUNT, batch, index_of, new_state, synthetic, update
from aggregator.features.state import reset_slot


@numba.njit
def _aggregator_like(state, bars, slot, out):
    """What the aggregator's kernel does at a bar close: call update from nopython code."""
    for j in range(bars.shape[0]):
        b = bars[j]
        update(state, slot, b.open, b.high, b.low, b.close, b.volume, b.buy_volume, b.sell_volume, b.vwap, b.count, out[j])


def test_callable_from_njit_code():
    bars = synthetic.bars("normal", 300, seed=4)
    out = np.empty((len(bars), FEATURE_COUNT))
    _aggregator_like(new_state(3), bars, 2, out)
    assert np.array_equal(out, batch.compute_records(bars), equal_nan=True)


def test_slots_are_independent_and_deterministic():
    a = synthetic.bars("normal", 400, seed=5)
    b = synthetic.bars("violent", 400, seed=6)
    both = np.empty(800, a.dtype)
    both[0::2], both[1::2] = a, b
    out = np.empty((800, FEATURE_COUNT))
    batch.update_records(new_state(2), both, np.tile([0, 1], 400).astype(np.int64), out)
    assert np.array_equal(out[0::2], batch.compute_records(a), equal_nan=True)
    assert np.array_equal(out[1::2], batch.compute_records(b), equal_nan=True)


def test_first_bar_without_a_price_changes_nothing():
    state = new_state(1)
    bar = synthetic.bars("normal", 1)
    bar["close"] = math.nan
    out = np.zeros((1, FEATURE_COUNT))
    batch.update_records(state, bar, np.zeros(1, np.int64), out)
    assert np.isnan(out).all()
    assert all(not array.any() for array in state)


def test_bad_close_later_is_an_empty_bar_at_the_previous_close():
    bars = synthetic.bars("normal", 200, seed=8)
    broken = bars.copy()
    broken["close"][150] = math.nan
    fixed = bars.copy()
    for field in ("open", "high", "low", "close", "vwap"):
        fixed[field][150] = bars["close"][149]
    for field in ("volume", "buy_volume", "sell_volume", "count"):
        fixed[field][150] = 0
    assert np.array_equal(batch.compute_records(broken), batch.compute_records(fixed), equal_nan=True)


def test_empty_interval_is_a_bar_with_zero_return_and_volume():
    bars = synthetic.bars("normal", 100, seed=9)
    last = bars[-1].copy()
    for field in ("open", "high", "low", "vwap"):
        last[field] = last["close"]
    for field in ("volume", "buy_volume", "sell_volume", "count"):
        last[field] = 0
    bars = np.concatenate([bars, [last]])
    out = batch.compute_records(bars)[-1]
    assert out[index_of("logret_5")] == math.log(bars["close"][-1] / bars["close"][-6])
    assert out[index_of("volratio_20")] == 0.0
    assert out[index_of("countratio_20")] == 0.0


def test_reset_slot_forgets_a_symbol():
    bars = synthetic.bars("normal", 100, seed=10)
    state = new_state(1)
    batch.compute_records(bars, state)
    reset_slot(state, 0)
    assert np.array_equal(batch.compute_records(bars, state), batch.compute_records(bars), equal_nan=True)


def test_state_size_per_symbol():
    state = new_state(2378)
    per_symbol = sum(array.nbytes for array in state) / 2378
    assert per_symbol < 64 * 1024
