"""Least-squares trend of close against bar number over every window (from bar w).

- slope_w: OLS slope per bar of the last w closes, divided by close (fraction
  of price per bar); exactly 0 when the closes are equal.
- r2_w: the fit's R^2 (squared correlation of close with time); NaN when flat.
Uses the rolling co-moment sum((j - (w-1)/2) c_j) and M2 of close (rolling.py): O(1).
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import (
    H_CLOSE, HIST_MASK, N_CHGC, NW, S_CM2, S_CXY, WINDOWS, base,
)

F_SLOPE = base("slope")
F_R2 = base("r2")


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        if n < w:
            out[F_SLOPE + i] = nan
            out[F_R2 + i] = nan
            continue
        s = state.sums[slot, i]
        if s[N_CHGC] == 0.0:
            out[F_SLOPE + i] = 0.0
            out[F_R2 + i] = nan
            continue
        sxx = w * (w * w - 1.0) / 12.0  # sum of (x - mean x)^2, x = 0 .. w-1
        sxy = s[S_CXY]  # centered: sum((position - mean position) * close)
        syy = s[S_CM2]
        out[F_SLOPE + i] = sxy / sxx / c
        out[F_R2 + i] = sxy * sxy / (sxx * syy) if syy > 0.0 else nan
