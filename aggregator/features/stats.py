"""Window statistics of close and of log returns, from the shifted rolling moment sums.

Closes (window of w bars, defined from bar w):
- std_w: population standard deviation; exactly 0 when the w closes are equal.
- zscore_w = (close - sma) / std; NaN when std is 0.
Log returns r = ln(c_t / c_{t-1}) (window of the last w returns, defined from bar w + 1):
- retmean_w: mean; skew_w, kurt_w: population skewness and excess kurtosis
  (m3 / m2^1.5, m4 / m2^2 - 3), NaN when the returns are all equal;
- pvcorr_w: Pearson correlation of the returns with their bars' volumes, NaN
  when either is constant.
All come from rolling central moments (moments.py), which see only deviations
from the window mean; "constant window" is an exact count of changes, not a
variance threshold.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import (
    H_CLOSE, HIST_MASK, N_CHGC, N_CHGR, N_CHGV, NW, P_KC, P_KR, S_C1, S_CM2, S_R1, S_RM2, S_RM3,
    S_RM4, S_RVC, S_VM2, WINDOWS, base,
)

F_STD = base("std")
F_ZSCORE = base("zscore")
F_SKEW = base("skew")
F_KURT = base("kurt")
F_RETMEAN = base("retmean")
F_PVCORR = base("pvcorr")


@numba.njit(cache=True, nogil=True, inline="always")
def close_moments(s, w):
    """(mean of close - Kc, population std) of window sums ``s``; std NaN if rounding left var <= 0."""
    mean = s[S_C1] / w
    if s[N_CHGC] == 0.0:
        return mean, 0.0
    var = s[S_CM2] / w
    return mean, math.sqrt(var) if var > 0.0 else math.nan


@numba.njit(cache=True, nogil=True, inline="always")
def return_moments(s, w):
    """(mean of r - Kr, m2, m3, m4): central moments (averages) of the last w log returns.

    m2 is exactly 0 when the returns are all equal, NaN if rounding left it <= 0 otherwise.
    """
    m2 = s[S_RM2] / w
    if s[N_CHGR] == 0.0:
        m2 = 0.0
    elif not m2 > 0.0:
        m2 = math.nan
    return s[S_R1] / w, m2, s[S_RM3] / w, s[S_RM4] / w


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    row = state.hist[slot, (n - 1) & HIST_MASK]
    scal = state.scal[slot]
    c = row[H_CLOSE] - scal[P_KC]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        s = state.sums[slot, i]
        if n < w:
            out[F_STD + i] = nan
            out[F_ZSCORE + i] = nan
        else:
            mean, std = close_moments(s, w)
            out[F_STD + i] = std
            out[F_ZSCORE + i] = (c - mean) / std if std > 0.0 else nan
        if n < w + 1:
            out[F_RETMEAN + i] = nan
            out[F_SKEW + i] = nan
            out[F_KURT + i] = nan
            out[F_PVCORR + i] = nan
            continue
        m, m2, m3, m4 = return_moments(s, w)
        out[F_RETMEAN + i] = scal[P_KR] + m
        if m2 > 0.0:
            out[F_SKEW + i] = m3 / (m2 * math.sqrt(m2))
            out[F_KURT + i] = m4 / (m2 * m2) - 3.0
        else:
            out[F_SKEW + i] = nan
            out[F_KURT + i] = nan
        var_v = s[S_VM2] / w
        if m2 > 0.0 and s[N_CHGV] != 0.0 and var_v > 0.0:
            out[F_PVCORR + i] = (s[S_RVC] / w) / math.sqrt(m2 * var_v)
        else:
            out[F_PVCORR + i] = nan
