"""Volume and order-flow features over every window (from bar w), and TA-Lib OBV.

- volratio_w = volume / mean volume of the last w bars; NaN if they had no volume.
- volz_w = (volume - mean) / std of the last w volumes; NaN if constant.
- vwapdev_w = close / window VWAP - 1, window VWAP = sum(vwap * volume) / sum(volume).
- imbalance_w = (buy - sell) / (buy + sell) volume over the window; NaN if no side is known.
- cmf_w (Chaikin money flow) = sum(clv * volume) / sum(volume),
  clv = ((c - l) - (h - c)) / (h - l), 0 for a bar with h == l.
- countratio_w = trades in this bar / mean trades per bar of the window.
- obv: TA-Lib OBV (starts at the first bar's volume, +/- volume on up/down
  closes), summed with Neumaier compensation so millions of bars add no drift.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import (
    F_OBV, H_CLOSE, H_COUNT, H_VOL, HIST_MASK, N_BUY, N_SELL, N_CHGV, N_VOL, NW, P_KC, P_KV, P_OBV, P_OBV_COMP,
    S_BV, S_CLVV, S_COUNT, S_PV, S_SV, S_V1, S_VM2, S_VRAW, WINDOWS, base,
)

F_VOLRATIO = base("volratio")
F_VOLZ = base("volz")
F_VWAPDEV = base("vwapdev")
F_IMBALANCE = base("imbalance")
F_CMF = base("cmf")
F_COUNTRATIO = base("countratio")


@numba.njit(cache=True, nogil=True)
def update_obv(state, slot) -> None:
    """Add the newest bar's signed volume to the compensated OBV sum."""
    t = state.bars[slot] - 1
    row = state.hist[slot, t & HIST_MASK]
    scal = state.scal[slot]
    if t == 0:
        scal[P_OBV] = row[H_VOL]
        scal[P_OBV_COMP] = 0.0
        return
    pc = state.hist[slot, (t - 1) & HIST_MASK, H_CLOSE]
    if row[H_CLOSE] > pc:
        x = row[H_VOL]
    elif row[H_CLOSE] < pc:
        x = -row[H_VOL]
    else:
        return
    total = scal[P_OBV]
    s = total + x
    if abs(total) >= abs(x):
        scal[P_OBV_COMP] += (total - s) + x
    else:
        scal[P_OBV_COMP] += (x - s) + total
    scal[P_OBV] = s


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    row = state.hist[slot, (n - 1) & HIST_MASK]
    c = row[H_CLOSE]
    v = row[H_VOL]
    kv = state.scal[slot, P_KV]
    kc = state.scal[slot, P_KC]
    nan = math.nan
    out[F_OBV] = state.scal[slot, P_OBV] + state.scal[slot, P_OBV_COMP]
    for i in range(NW):
        w = WINDOWS[i]
        s = state.sums[slot, i]
        if n < w:
            for f in (F_VOLRATIO, F_VOLZ, F_VWAPDEV, F_IMBALANCE, F_CMF, F_COUNTRATIO):
                out[f + i] = nan
            continue
        if s[N_VOL] != 0.0:
            out[F_VOLRATIO + i] = v / (s[S_VRAW] / w)
            vwap = s[S_PV] / s[S_VRAW]  # minus Kc: sum((vwap - Kc) * volume) / sum(volume)
            out[F_VWAPDEV + i] = ((c - kc) - vwap) / (kc + vwap)
            out[F_CMF + i] = s[S_CLVV] / s[S_VRAW]
        else:
            out[F_VOLRATIO + i] = nan
            out[F_VWAPDEV + i] = nan
            out[F_CMF + i] = nan
        mean = s[S_V1] / w
        var = s[S_VM2] / w
        out[F_VOLZ + i] = ((v - kv) - mean) / math.sqrt(var) if s[N_CHGV] != 0.0 and var > 0.0 else nan
        buy = s[S_BV] if s[N_BUY] != 0.0 else 0.0
        sell = s[S_SV] if s[N_SELL] != 0.0 else 0.0
        out[F_IMBALANCE + i] = (buy - sell) / (buy + sell) if buy + sell > 0.0 else nan
        out[F_COUNTRATIO + i] = row[H_COUNT] / (s[S_COUNT] / w) if s[S_COUNT] > 0.0 else nan
