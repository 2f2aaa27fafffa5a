"""Momentum over every window: how far close went in w bars, and how directly.

- roc_w = (close / close[t-w] - 1) * 100 (TA-Lib ROC, percent); from bar w + 1.
- logret_w = ln(close / close[t-w]).
- er_w: Kaufman efficiency ratio |close - close[t-w]| / sum of |bar-to-bar change|
  over those w changes; NaN when close did not move.
- upfrac_w: share of the last w bars that closed above the previous close.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import H_CLOSE, HIST_MASK, N_DC, N_UP, NW, S_ABSD, WINDOWS, base

F_ROC = base("roc")
F_LOGRET = base("logret")
F_ER = base("er")
F_UPFRAC = base("upfrac")


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    t = n - 1
    hist = state.hist[slot]
    c = hist[t & HIST_MASK, H_CLOSE]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        if n < w + 1:
            out[F_ROC + i] = nan
            out[F_LOGRET + i] = nan
            out[F_ER + i] = nan
            out[F_UPFRAC + i] = nan
            continue
        s = state.sums[slot, i]
        before = hist[(t - w) & HIST_MASK, H_CLOSE]
        out[F_ROC + i] = ((c / before) - 1.0) * 100.0
        out[F_LOGRET + i] = math.log(c / before)
        out[F_ER + i] = abs(c - before) / s[S_ABSD] if s[N_DC] != 0.0 else nan
        out[F_UPFRAC + i] = s[N_UP] / w
