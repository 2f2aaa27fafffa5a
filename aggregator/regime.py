"""Volatility regime per symbol at each 1-minute bar close: calm (0), normal (1), turbulent (2).

Model: short-horizon volatility against the symbol's own recent baseline.
- r = ln(close / previous close) per bar (0 for an empty minute).
- v_short = EWMA of r^2 with a half-life of 30 bars, v_long = EWMA of r^2 with a
  half-life of 1,440 bars (a day). Both start as plain means of the returns
  seen so far (weight max(alpha, 1/n)), so early values are not biased to 0.
- realized_vol = sqrt(v_short): per-bar volatility, not annualized.
- score = sqrt(v_short / v_long): how many times the usual volatility the
  market moves now (1 = as usual). Dimensionless, so one set of thresholds
  fits every symbol whatever its price or typical volatility.
- regime, with hysteresis so it does not flicker at a threshold: enter
  turbulent at score >= 2 and stay while >= 1.5; enter calm at score <= 0.6
  and stay while <= 0.8; otherwise normal. For i.i.d. returns the 30-bar
  estimate's noise is about +-0.08 in score, so a steady market reads normal.
- warm-up: before WARMUP_RETURNS returns the regime is normal (1), score NaN.
  A symbol that never moved (v_long == 0) is calm, score NaN.
- a close that is not finite or <= 0 changes nothing: the previous outputs repeat.
O(1) per bar and symbol, deterministic (no randomness, no clock).
A permanent shift in volatility becomes "normal" again as the day-long
baseline catches up: turbulence is relative to the symbol's own last day.
"""
from __future__ import annotations

import math

import numba
import numpy as np

CALM, NORMAL, TURBULENT = 0, 1, 2
HALF_LIFE_SHORT = 30.0  # bars
HALF_LIFE_LONG = 1440.0  # bars
ALPHA_SHORT = 1.0 - 2.0 ** (-1.0 / HALF_LIFE_SHORT)
ALPHA_LONG = 1.0 - 2.0 ** (-1.0 / HALF_LIFE_LONG)
WARMUP_RETURNS = 60
ENTER_TURBULENT, STAY_TURBULENT = 2.0, 1.5
ENTER_CALM, STAY_CALM = 0.6, 0.8

# regime_state[slot]: one record per symbol slot (48 bytes)
#
#  0            8         16          24         32       40      48
#  +------------+---------+-----------+----------+--------+-------+
#  | prev_close | returns | var_short | var_long | regime | score |
#  +------------+---------+-----------+----------+--------+-------+
REGIME_STATE = np.dtype([
    ("prev_close", "<f8"),  # NaN until the first good close
    ("returns", "<f8"),  # returns folded in so far (a count, kept as a float for the 1/n weights)
    ("var_short", "<f8"),  # EWMA of r^2, HALF_LIFE_SHORT
    ("var_long", "<f8"),  # EWMA of r^2, HALF_LIFE_LONG
    ("regime", "<f8"),  # CALM, NORMAL or TURBULENT as of the last bar
    ("score", "<f8"),  # NaN during warm-up or when v_long == 0
])


def new_regime_state(n_symbols: int) -> np.ndarray:
    """Regime state of ``n_symbols`` slots: REGIME_STATE (n_symbols,), NaN previous close."""
    state = np.zeros(int(n_symbols), REGIME_STATE)
    state["prev_close"] = np.nan
    state["regime"] = NORMAL
    state["score"] = np.nan
    return state


@numba.njit(cache=True, nogil=True)
def update_regime(regime_state, slot, close):
    """Fold one bar close into ``slot``; return (regime, score, realized_vol)."""
    g = regime_state[slot]  # a record: writes go to the state
    c = float(close)
    if not (math.isfinite(c) and c > 0.0) or not math.isfinite(g.prev_close):
        if math.isfinite(c) and c > 0.0:
            g.prev_close = c
        vol = math.sqrt(g.var_short) if g.returns > 0 else math.nan
        return int(g.regime), g.score, vol
    r = math.log(c / g.prev_close)
    g.prev_close = c
    n = g.returns + 1.0
    g.returns = n
    g.var_short += max(ALPHA_SHORT, 1.0 / n) * (r * r - g.var_short)
    g.var_long += max(ALPHA_LONG, 1.0 / n) * (r * r - g.var_long)
    vol = math.sqrt(g.var_short)
    if n < WARMUP_RETURNS:
        return NORMAL, math.nan, vol
    if g.var_long <= 0.0:
        g.regime = CALM
        g.score = math.nan
        return CALM, math.nan, vol
    score = math.sqrt(g.var_short / g.var_long)
    regime = _classify(int(g.regime), score)
    g.regime = regime
    g.score = score
    return regime, score, vol


@numba.njit(cache=True, nogil=True, inline="always")
def _classify(previous, score):
    if previous == TURBULENT and score >= STAY_TURBULENT:
        return TURBULENT
    if previous == CALM and score <= STAY_CALM:
        return CALM
    if score >= ENTER_TURBULENT:
        return TURBULENT
    if score <= ENTER_CALM:
        return CALM
    return NORMAL


@numba.njit(cache=True, nogil=True)
def update_regime_all(regime_state, slots, closes, regimes, scores, vols) -> None:
    """update_regime for slots[j] with closes[j]; outputs into regimes/scores/vols[j]."""
    for j in range(slots.shape[0]):
        regimes[j], scores[j], vols[j] = update_regime(regime_state, slots[j], closes[j])
