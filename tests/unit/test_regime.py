"""Regime signal (aggregator/regime.py) on synthetic calm -> turbulent -> calm series."""
from __future__ import annotations

import math

import numpy as np

from aggregator.regime import (
    CALM, NORMAL, TURBULENT, WARMUP_RETURNS, new_regime_state, update_regime, update_regime_all,
)


def closes_from(sigmas, seed=0, start=100.0):
    """A random walk whose per-bar log-return std is sigmas[j]."""
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0.0, 1.0, len(sigmas)) * sigmas))


def run(closes, state=None, slot=0):
    state = new_regime_state(slot + 1) if state is None else state
    n = len(closes)
    regimes, scores, vols = np.empty(n, np.int64), np.empty(n), np.empty(n)
    update_regime_all(state, np.full(n, slot, np.int64), np.asarray(closes, np.float64), regimes, scores, vols)
    return regimes, scores, vols


def test_calm_to_turbulent_and_back():
    sigmas = np.concatenate([np.full(3000, 1e-3), np.full(300, 5e-3), np.full(1500, 1e-3)])
    regimes, scores, vols = run(closes_from(sigmas, seed=1))
    steady = regimes[300:3000]
    assert (steady == NORMAL).mean() > 0.95 and not (steady == TURBULENT).any()
    assert abs(np.median(vols[300:3000]) / 1e-3 - 1.0) < 0.2  # realized_vol is the per-bar volatility
    first_turbulent = np.argmax(regimes[3000:] == TURBULENT)
    assert 0 < first_turbulent <= 15, first_turbulent
    assert (regimes[3030:3300] == TURBULENT).mean() > 0.9
    assert scores[3100] > 2.0
    # back to the old volatility: below the day-long baseline the turbulence inflated -> calm
    assert (regimes[3500:4500] == CALM).all()
    assert scores[3300] > scores[3400] > scores[3500]


def test_quiet_market_is_calm():
    sigmas = np.concatenate([np.full(2000, 1e-3), np.full(300, 2e-4)])
    regimes, scores, _ = run(closes_from(sigmas, seed=2))
    assert (regimes[2100:] == CALM).all()
    assert scores[-1] < 0.6


def test_hysteresis_avoids_flicker():
    sigmas = np.concatenate([np.full(3000, 1e-3), np.full(400, 2.2e-3)])
    regimes, _, _ = run(closes_from(sigmas, seed=3))
    switches = np.count_nonzero(np.diff(regimes[3000:]))
    assert switches <= 6, switches


def test_warm_up_is_normal_without_score():
    regimes, scores, vols = run(closes_from(np.full(100, 1e-3), seed=4))
    assert (regimes[:WARMUP_RETURNS] == NORMAL).all()
    assert np.isnan(scores[:WARMUP_RETURNS]).all()
    assert np.isnan(vols[0]) and np.isfinite(vols[1:]).all()
    assert np.isfinite(scores[WARMUP_RETURNS + 1:]).all()


def test_bad_closes_change_nothing():
    closes = closes_from(np.full(200, 1e-3), seed=5)
    state = new_regime_state(1)
    run(closes[:150], state)
    before = state.copy()
    for bad in (math.nan, math.inf, 0.0, -5.0):
        regime, score, vol = update_regime(state, 0, bad)
        assert np.array_equal(state.view(np.float64), before.view(np.float64), equal_nan=True)  # every field f8
        assert regime == before[0]["regime"]
        assert score == before[0]["score"] or (math.isnan(score) and math.isnan(before[0]["score"]))
        assert vol == math.sqrt(before[0]["var_short"])


def test_symbol_that_never_moved_is_calm():
    regimes, scores, vols = run(np.full(200, 42.0))
    assert (regimes[WARMUP_RETURNS:] == CALM).all()
    assert np.isnan(scores).all()
    assert (vols[1:] == 0.0).all()


def test_slots_are_independent_and_deterministic():
    a = closes_from(np.full(500, 1e-3), seed=6)
    b = closes_from(np.concatenate([np.full(300, 1e-3), np.full(200, 6e-3)]), seed=7)
    state = new_regime_state(2)
    n = 1000
    slots = np.tile([0, 1], 500).astype(np.int64)
    closes = np.empty(n)
    closes[0::2], closes[1::2] = a, b
    regimes, scores, vols = np.empty(n, np.int64), np.empty(n), np.empty(n)
    update_regime_all(state, slots, closes, regimes, scores, vols)
    for k, series in ((0, a), (1, b)):
        alone = run(series)
        assert np.array_equal(regimes[k::2], alone[0])
        assert np.array_equal(scores[k::2], alone[1], equal_nan=True)
        assert np.array_equal(vols[k::2], alone[2], equal_nan=True)
