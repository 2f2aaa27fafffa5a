"""Exact recomputation of rolling window sums from the history ring, and each bar's terms.

``recompute_window`` is two passes over the window's rows (sums and counts,
then deviations from the means for the central moments): O(w), run when a
sentinel says add/remove residue may dominate (rolling.py). ``rebase`` picks
fresh shifts and recomputes every window: about 2,400 row reads per symbol
every REBASE_EVERY bars, well under 1 row read per window per bar amortized.
"""
from __future__ import annotations

import numba

from aggregator.features.layout import (
    H_BV, H_CLOSE, H_CLVV, H_COUNT, H_DC, H_GK, H_LR, H_MF, H_PARK, H_RS, H_SV, H_VOL, H_VWAP,
    HIST_MASK, MAX_WINDOW, N_BUY, N_CHGC, N_CHGR, N_CHGV, N_DC, N_GK, N_LAGW, N_MFNEG, N_MFPOS,
    N_PARK, N_RET, N_RS, N_SELL, N_SUMS, N_UP, N_VOL, NW, P_KC, P_KR, P_KV, S_ABSD, S_BV, S_C1,
    S_CLVV, S_CM2, S_COUNT, S_CXY, S_GK, S_MFNEG, S_MFPOS, S_PARK, S_PEAK_C, S_PEAK_P, S_PEAK_R,
    S_PEAK_V, S_PV, S_R1, S_RM2, S_RM3, S_RM4, S_RS, S_RSQ, S_RVC, S_SV, S_V1, S_VM2, S_VRAW,
    WINDOWS,
)


@numba.njit(cache=True, nogil=True, inline="always")
def row_terms(row, kc, kr, kv, terms) -> None:
    """What bar ``row`` adds to the plain sums [0, N_LAGW) over the last w bars."""
    vol = row[H_VOL]
    terms[S_C1] = row[H_CLOSE] - kc
    terms[S_R1] = row[H_LR] - kr
    terms[S_V1] = vol - kv
    terms[S_VRAW] = vol
    terms[S_RSQ] = row[H_LR] * row[H_LR]
    terms[S_PARK] = row[H_PARK]
    terms[S_GK] = row[H_GK]
    terms[S_RS] = row[H_RS]
    terms[S_BV] = row[H_BV]
    terms[S_SV] = row[H_SV]
    terms[S_PV] = (row[H_VWAP] - kc) * vol
    terms[S_MFPOS] = max(row[H_MF], 0.0)
    terms[S_MFNEG] = max(-row[H_MF], 0.0)
    terms[S_CLVV] = row[H_CLVV]
    terms[S_ABSD] = abs(row[H_DC])
    terms[S_COUNT] = row[H_COUNT]
    terms[N_PARK] = 1.0 if row[H_PARK] != 0.0 else 0.0
    terms[N_GK] = 1.0 if row[H_GK] != 0.0 else 0.0
    terms[N_RS] = 1.0 if row[H_RS] != 0.0 else 0.0
    terms[N_VOL] = 1.0 if vol > 0.0 else 0.0
    terms[N_BUY] = 1.0 if row[H_BV] > 0.0 else 0.0
    terms[N_SELL] = 1.0 if row[H_SV] > 0.0 else 0.0
    terms[N_RET] = 1.0 if row[H_LR] != 0.0 else 0.0
    terms[N_DC] = 1.0 if row[H_DC] != 0.0 else 0.0
    terms[N_UP] = 1.0 if row[H_DC] > 0.0 else 0.0
    terms[N_MFPOS] = 1.0 if row[H_MF] > 0.0 else 0.0
    terms[N_MFNEG] = 1.0 if row[H_MF] < 0.0 else 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def change_terms(hist, j, terms) -> None:
    """Did bar j change close / log return / volume versus bar j - 1 (0 for the first bar)."""
    if j <= 0:
        terms[N_CHGC] = 0.0
        terms[N_CHGR] = 0.0
        terms[N_CHGV] = 0.0
        return
    row = hist[j & HIST_MASK]
    prev = hist[(j - 1) & HIST_MASK]
    terms[N_CHGC] = 1.0 if row[H_CLOSE] != prev[H_CLOSE] else 0.0
    terms[N_CHGR] = 1.0 if row[H_LR] != prev[H_LR] else 0.0
    terms[N_CHGV] = 1.0 if row[H_VOL] != prev[H_VOL] else 0.0


@numba.njit(cache=True, nogil=True)
def recompute_window(state, slot, i) -> None:
    """Window i's sums from its rows, with the current shifts; resets its sentinel peaks."""
    t = state.bars[slot] - 1
    hist = state.hist[slot]
    scal = state.scal[slot]
    s = state.sums[slot, i]
    terms = state.scratch[slot, 1]
    w = WINDOWS[i]
    n = min(w, t + 1)
    first = t - n + 1
    for k in range(N_SUMS):
        s[k] = 0.0
    for j in range(first, t + 1):
        row_terms(hist[j & HIST_MASK], scal[P_KC], scal[P_KR], scal[P_KV], terms)
        for k in range(N_LAGW):
            s[k] += terms[k]
    for j in range(t - min(w - 1, t + 1) + 1, t + 1):
        change_terms(hist, j, terms)
        for k in range(N_LAGW, S_CXY):
            s[k] += terms[k]
    mean_c = s[S_C1] / n
    mean_v = s[S_V1] / n
    mean_r = s[S_R1] / n
    mid = (n - 1) / 2.0
    for j in range(first, t + 1):
        row = hist[j & HIST_MASK]
        dc = (row[H_CLOSE] - scal[P_KC]) - mean_c
        dv = (row[H_VOL] - scal[P_KV]) - mean_v
        dr = (row[H_LR] - scal[P_KR]) - mean_r
        dr2 = dr * dr
        s[S_CXY] += (j - first - mid) * dc
        s[S_CM2] += dc * dc
        s[S_VM2] += dv * dv
        s[S_RM2] += dr2
        s[S_RM3] += dr2 * dr
        s[S_RM4] += dr2 * dr2
        s[S_RVC] += dr * dv
    exact_zeros(s)
    s[S_PEAK_C] = s[S_CM2]
    s[S_PEAK_V] = s[S_VM2]
    s[S_PEAK_R] = s[S_RM4]
    s[S_PEAK_P] = s[S_PARK]


@numba.njit(cache=True, nogil=True, inline="always")
def exact_zeros(s) -> None:
    """What the exact counts prove is zero is set to exactly 0 (a constant window has no spread).

    Rounding would otherwise leave noise there, which would read as a tiny
    variance and keep the sentinels firing in a market that stopped trading.
    """
    if s[N_CHGC] == 0.0:
        s[S_CM2] = 0.0
        s[S_CXY] = 0.0
    if s[N_CHGV] == 0.0:
        s[S_VM2] = 0.0
        s[S_RVC] = 0.0
    if s[N_CHGR] == 0.0:
        s[S_RM2] = 0.0
        s[S_RM3] = 0.0
        s[S_RM4] = 0.0
        s[S_RVC] = 0.0
    if s[N_PARK] == 0.0:
        s[S_PARK] = 0.0
    if s[N_GK] == 0.0:
        s[S_GK] = 0.0
    if s[N_RS] == 0.0:
        s[S_RS] = 0.0


@numba.njit(cache=True, nogil=True)
def rebase(state, slot) -> None:
    """Fresh shifts (newest close; mean return and volume of the last MAX_WINDOW bars), all windows exact."""
    t = state.bars[slot] - 1
    hist = state.hist[slot]
    scal = state.scal[slot]
    n_rows = min(t + 1, MAX_WINDOW)
    kr = 0.0
    kv = 0.0
    for j in range(t - n_rows + 1, t + 1):
        kr += hist[j & HIST_MASK, H_LR]
        kv += hist[j & HIST_MASK, H_VOL]
    scal[P_KC] = hist[t & HIST_MASK, H_CLOSE]
    scal[P_KR] = kr / n_rows
    scal[P_KV] = kv / n_rows
    for i in range(NW):
        recompute_window(state, slot, i)
