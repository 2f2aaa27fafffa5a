"""Volatility estimators over every window, per 1-minute bar (not annualized).

- retstd_w: population std of the last w log returns (0 if they are all equal).
- rvol_w = sqrt(sum of the last w squared log returns): realized volatility.
- parkinson_w = sqrt(mean(ln(h/l)^2) / (4 ln 2)).
- gk_w (Garman-Klass) = sqrt(mean(0.5 ln(h/l)^2 - (2 ln 2 - 1) ln(c/o)^2)); NaN if the mean is < 0.
- rs_w (Rogers-Satchell) = sqrt(mean(ln(h/c) ln(h/o) + ln(l/c) ln(l/o))).
- atr_w: TA-Lib ATR (Wilder-smoothed true range; wilder.py), from bar w + 1.
- natr_w = atr / close * 100 (TA-Lib NATR).
Range estimators use each bar's own OHLC (defined from bar w); return-based ones
need w returns (bar w + 1). A window whose terms are all zero gives exactly 0.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import (
    H_CLOSE, HIST_MASK, N_GK, N_PARK, N_RET, N_RS, NW, R_ATR, S_GK, S_PARK, S_RS, S_RSQ, WINDOWS,
    base,
)
from aggregator.features.stats import return_moments

F_RETSTD = base("retstd")
F_RVOL = base("rvol")
F_PARKINSON = base("parkinson")
F_GK = base("gk")
F_RS = base("rs")
F_ATR = base("atr")
F_NATR = base("natr")
FOUR_LN2 = 4.0 * math.log(2.0)


@numba.njit(cache=True, nogil=True, inline="always")
def _root_mean(total, nonzero, w):
    """sqrt(total / w) of a sum of terms; exactly 0 when no term was non-zero, NaN when negative."""
    if nonzero == 0.0:
        return 0.0
    mean = total / w
    return math.sqrt(mean) if mean >= 0.0 else math.nan


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        s = state.sums[slot, i]
        if n < w:
            out[F_PARKINSON + i] = nan
            out[F_GK + i] = nan
            out[F_RS + i] = nan
        else:
            out[F_PARKINSON + i] = _root_mean(max(s[S_PARK], 0.0) / FOUR_LN2, s[N_PARK], w)
            out[F_GK + i] = _root_mean(s[S_GK], s[N_GK], w)
            out[F_RS + i] = _root_mean(max(s[S_RS], 0.0), s[N_RS], w)
        if n < w + 1:
            out[F_RETSTD + i] = nan
            out[F_RVOL + i] = nan
            out[F_ATR + i] = nan
            out[F_NATR + i] = nan
            continue
        m2 = return_moments(s, w)[1]
        out[F_RETSTD + i] = math.sqrt(m2)
        out[F_RVOL + i] = 0.0 if s[N_RET] == 0.0 else math.sqrt(max(s[S_RSQ], 0.0))
        atr = state.rec[slot, R_ATR, i]
        out[F_ATR + i] = atr
        out[F_NATR + i] = (atr / c) * 100.0
