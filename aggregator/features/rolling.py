"""Rolling window sums and moments for every window at once: add the new bar, remove the leaving one.

O(NW) per bar: each window reads one leaving ring row (two for the change
counts, which cover w - 1 transitions). How each kind of sum stays exact enough:
- plain sums are of x - K, K reset at each rebase (close: the close then; return,
  volume: their mean over the last MAX_WINDOW bars), so 60,000 +- 0.01 keeps its digits;
- variances, skew/kurtosis moments, the return-volume co-moment and the
  regression co-moment are central moments updated with deviations from the
  window mean only (moments.py): no E[x^2] - E[x]^2, whatever the level;
- counts of non-zero terms and of changes are integers (exact in float64):
  "flat", "no volume", "all returns equal" are decided exactly, and what they
  prove zero (the spread of a constant window) is set to exactly 0;
- add/remove leaves a residue proportional to the largest value that passed
  through (a 10^6x volume burst, a 30% jump). Sentinels (close M2, volume M2,
  return M4, Parkinson sum) remember their peak since the window's last exact
  pass; when one falls SENTINEL_DROP below it, that window is recomputed (exact.py);
- every REBASE_EVERY bars (staggered by slot), or when close has moved
  REBASE_MOVE from Kc, all windows are recomputed with fresh shifts, so no
  rounding survives more than 512 bars, over millions of bars.
"""
from __future__ import annotations

import numba

from aggregator.features.exact import change_terms, exact_zeros, rebase, recompute_window, row_terms
from aggregator.features.layout import (
    H_CLOSE, HIST_MASK, N_LAGW, NW, P_KC, P_KR, P_KV, REBASE_EVERY, REBASE_MOVE, S_C1, S_CM2, S_CXY,
    S_PARK, S_PEAK_C, S_PEAK_P, S_PEAK_R, S_PEAK_V, S_R1, S_RM2, S_RM3, S_RM4, S_RVC, S_V1, S_VM2,
    SENTINEL_DROP, WINDOWS,
)
from aggregator.features.moments import add_one, remove_one


@numba.njit(cache=True, nogil=True)
def update(state, slot) -> None:
    """Fold the newest bar (row bars - 1) into every window; rebase when due."""
    t = state.bars[slot] - 1
    hist = state.hist[slot]
    scal = state.scal[slot]
    kc = scal[P_KC]
    moved = abs(hist[t & HIST_MASK, H_CLOSE] - kc) > REBASE_MOVE * kc
    if t == 0 or moved or ((t + 1 + slot) & (REBASE_EVERY - 1)) == 0:
        rebase(state, slot)
        return
    new = state.scratch[slot, 0]
    old = state.scratch[slot, 1]
    row_terms(hist[t & HIST_MASK], kc, scal[P_KR], scal[P_KV], new)
    change_terms(hist, t, new)
    for i in range(NW):
        w = WINDOWS[i]
        s = state.sums[slot, i]
        if t >= w:  # the window was full: bar t - w leaves
            row_terms(hist[(t - w) & HIST_MASK], kc, scal[P_KR], scal[P_KV], old)
            _swap_moments(s, w, new, old)
            for k in range(N_LAGW):
                s[k] += new[k] - old[k]
        else:
            _grow_moments(s, t, new)
            for k in range(N_LAGW):
                s[k] += new[k]
        if t >= w - 1:  # change counts cover w - 1 transitions: bar t - w + 1's leaves
            change_terms(hist, t - w + 1, old)
            for k in range(N_LAGW, S_CXY):
                s[k] += new[k] - old[k]
        else:
            for k in range(N_LAGW, S_CXY):
                s[k] += new[k]
        exact_zeros(s)
        if _fell(s, S_CM2, S_PEAK_C) or _fell(s, S_VM2, S_PEAK_V) or _fell(s, S_RM4, S_PEAK_R) or _fell(s, S_PARK, S_PEAK_P):
            recompute_window(state, slot, i)


@numba.njit(cache=True, nogil=True, inline="always")
def _fell(s, k, peak) -> bool:
    """Track the peak of sentinel k; True when it fell SENTINEL_DROP below it (residue may dominate)."""
    if s[k] > s[peak]:
        s[peak] = s[k]
        return False
    return s[k] < SENTINEL_DROP * s[peak]


@numba.njit(cache=True, nogil=True, inline="always")
def _swap_moments(s, w, new, old) -> None:
    """Central moments of a full window of w when bar ``new`` replaces bar ``old`` (before the sums move)."""
    keep = (w - 1.0) / w
    mean_c = s[S_C1] / w
    rest_c = (s[S_C1] - old[S_C1]) / (w - 1)  # mean of the w - 1 values that stay
    rest_v = (s[S_V1] - old[S_V1]) / (w - 1)
    rest_r = (s[S_R1] - old[S_R1]) / (w - 1)
    # regression co-moment sum((j - (w-1)/2) * y_j): positions shift down by one
    s[S_CXY] += (w + 1.0) / 2.0 * (old[S_C1] - mean_c) + (w - 1.0) / 2.0 * (new[S_C1] - mean_c)
    dc_old = old[S_C1] - rest_c
    dc_new = new[S_C1] - rest_c
    s[S_CM2] += keep * (dc_new * dc_new - dc_old * dc_old)
    dv_old = old[S_V1] - rest_v
    dv_new = new[S_V1] - rest_v
    s[S_VM2] += keep * (dv_new * dv_new - dv_old * dv_old)
    dr_old = old[S_R1] - rest_r
    dr_new = new[S_R1] - rest_r
    s[S_RVC] += keep * (dr_new * dv_new - dr_old * dv_old)
    m2, m3, m4 = remove_one(float(w), s[S_RM2], s[S_RM3], s[S_RM4], dr_old)
    s[S_RM2], s[S_RM3], s[S_RM4] = add_one(w - 1.0, m2, m3, m4, dr_new)


@numba.njit(cache=True, nogil=True, inline="always")
def _grow_moments(s, n, new) -> None:
    """Central moments when bar ``new`` joins a window holding n >= 1 bars (warm-up)."""
    grow = n / (n + 1.0)
    dc = new[S_C1] - s[S_C1] / n
    dv = new[S_V1] - s[S_V1] / n
    dr = new[S_R1] - s[S_R1] / n
    s[S_CXY] += n / 2.0 * dc
    s[S_CM2] += grow * dc * dc
    s[S_VM2] += grow * dv * dv
    s[S_RVC] += grow * dr * dv
    s[S_RM2], s[S_RM3], s[S_RM4] = add_one(float(n), s[S_RM2], s[S_RM3], s[S_RM4], dr)
