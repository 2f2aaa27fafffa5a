"""Bounded oscillators, TA-Lib definitions: RSI, fast stochastic %K, Williams %R, MFI, CCI.

- rsi_w: 100 * avg_gain / (avg_gain + avg_loss), Wilder averages (wilder.py); from bar w + 1.
- stoch_k_w: 100 * (close - lowest low) / (highest high - lowest low) over w bars (STOCHF fast %K).
- willr_w: -100 * (highest high - close) / (highest high - lowest low).
- mfi_w: 100 * positive / (positive + negative) money flow (typical price * volume,
  signed by the typical price's change; |change| <= 1e-13 tp, rounding noise,
  counts as none) over the last w bars; from bar w + 1.
- cci_w (w in CCI_WINDOWS): (tp - sma(tp)) / (0.015 * mean |tp - sma(tp)|), tp = (h + l + c) / 3.
Where TA-Lib returns 0 for a zero denominator (flat window; TA-Lib even treats
|x| < 1e-8, or MFI flow < 1, as zero) these give NaN: the ratio is undefined.
CCI is the one O(w) feature: its mean absolute deviation is around the
current mean, which no running sum gives exactly, so it loops over the ring
like TA-Lib does (w <= 40: about 100 reads per bar), on prices minus the
current close: at 60,000 +- 0.01 TA-Lib's raw sums keep only ~7 digits of CCI.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.extremes import MAX_SIDE, MIN_SIDE, extreme
from aggregator.features.layout import (
    CCI_WINDOWS, F_CCI, H_CLOSE, H_HIGH, H_LOW, HIST_MASK, N_MFNEG, N_MFPOS, NW, R_GAIN, R_LOSS, S_MFNEG,
    S_MFPOS, WINDOWS, base,
)

F_RSI = base("rsi")
F_STOCH_K = base("stoch_k")
F_WILLR = base("willr")
F_MFI = base("mfi")


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE]
    rec = state.rec[slot]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        if n < w:
            out[F_STOCH_K + i] = nan
            out[F_WILLR + i] = nan
        else:
            hh = extreme(state, slot, MAX_SIDE, i)[0]
            ll = extreme(state, slot, MIN_SIDE, i)[0]
            if hh > ll:
                out[F_STOCH_K + i] = (c - ll) / ((hh - ll) / 100.0)
                out[F_WILLR + i] = (hh - c) / ((hh - ll) / -100.0)
            else:
                out[F_STOCH_K + i] = nan
                out[F_WILLR + i] = nan
        if n < w + 1:
            out[F_RSI + i] = nan
            out[F_MFI + i] = nan
            continue
        total = rec[R_GAIN, i] + rec[R_LOSS, i]
        out[F_RSI + i] = 100.0 * (rec[R_GAIN, i] / total) if total != 0.0 else nan
        s = state.sums[slot, i]
        positive = s[S_MFPOS] if s[N_MFPOS] != 0.0 else 0.0
        negative = s[S_MFNEG] if s[N_MFNEG] != 0.0 else 0.0
        flow = positive + negative
        out[F_MFI + i] = 100.0 * (positive / flow) if flow > 0.0 else nan
    for j in range(len(CCI_WINDOWS)):
        out[F_CCI + j] = _cci(state.hist[slot], n, CCI_WINDOWS[j])


@numba.njit(cache=True, nogil=True)
def _cci(hist, n, w) -> float:
    if n < w:
        return math.nan
    t = n - 1
    k = hist[t & HIST_MASK, H_CLOSE]
    total = 0.0
    for j in range(t - w + 1, t + 1):
        total += _typical(hist[j & HIST_MASK], k)
    mean = total / w
    deviation = 0.0
    for j in range(t - w + 1, t + 1):
        deviation += abs(_typical(hist[j & HIST_MASK], k) - mean)
    if deviation == 0.0:
        return math.nan
    return (_typical(hist[t & HIST_MASK], k) - mean) / (0.015 * (deviation / w))


@numba.njit(cache=True, nogil=True, inline="always")
def _typical(row, k) -> float:
    """Typical price (h + l + c) / 3 minus k (exact differences: k is a nearby close)."""
    return ((row[H_HIGH] - k) + (row[H_LOW] - k) + (row[H_CLOSE] - k)) / 3.0
