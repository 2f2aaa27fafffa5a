"""Bollinger band position and width of close, for every window (defined from bar w).

- bb_pctb_w = (close - (sma - 2 sigma)) / (4 sigma), sigma the population std of
  the last w closes (TA-Lib BBANDS nbdev 2 gives the bands); NaN when sigma is 0.
- bbwidth_w = 4 sigma / sma (upper minus lower band over the middle); 0 when flat.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import H_CLOSE, HIST_MASK, NW, P_KC, WINDOWS, base
from aggregator.features.stats import close_moments

F_BB_PCTB = base("bb_pctb")
F_BBWIDTH = base("bbwidth")


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    kc = state.scal[slot, P_KC]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE] - kc
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        if n < w:
            out[F_BB_PCTB + i] = nan
            out[F_BBWIDTH + i] = nan
            continue
        mean, std = close_moments(state.sums[slot, i], w)
        out[F_BB_PCTB + i] = (c - (mean - 2.0 * std)) / (4.0 * std) if std > 0.0 else nan
        out[F_BBWIDTH + i] = 4.0 * std / (kc + mean)
