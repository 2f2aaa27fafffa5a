"""Where close sits in the window's range, from the rolling extremes (extremes.py); from bar w.

- maxdist_w = close / highest high - 1 (<= 0), mindist_w = close / lowest low - 1 (>= 0).
- rangewidth_w = (highest high - lowest low) / close.
- hhage_w, llage_w: bars since the highest high / lowest low (0 = this bar; the
  most recent on ties), divided by w - 1 so they lie in [0, 1].
"""
from __future__ import annotations

import math

import numba

from aggregator.features.extremes import MAX_SIDE, MIN_SIDE, extreme
from aggregator.features.layout import H_CLOSE, HIST_MASK, NW, WINDOWS, base

F_MAXDIST = base("maxdist")
F_MINDIST = base("mindist")
F_RANGEWIDTH = base("rangewidth")
F_HHAGE = base("hhage")
F_LLAGE = base("llage")


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    t = n - 1
    c = state.hist[slot, t & HIST_MASK, H_CLOSE]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        if n < w:
            out[F_MAXDIST + i] = nan
            out[F_MINDIST + i] = nan
            out[F_RANGEWIDTH + i] = nan
            out[F_HHAGE + i] = nan
            out[F_LLAGE + i] = nan
            continue
        hh, hh_index = extreme(state, slot, MAX_SIDE, i)
        ll, ll_index = extreme(state, slot, MIN_SIDE, i)
        out[F_MAXDIST + i] = (c - hh) / hh
        out[F_MINDIST + i] = (c - ll) / ll
        out[F_RANGEWIDTH + i] = (hh - ll) / c
        out[F_HHAGE + i] = (t - hh_index) / (w - 1.0)
        out[F_LLAGE + i] = (t - ll_index) / (w - 1.0)
