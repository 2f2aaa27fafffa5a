"""EMA, DEMA and TEMA recursions of close for every window, seeded the TA-Lib way.

TA-Lib's EMA(w) starts with the simple mean of its first w inputs, then
e += k (x - e) with k = 2 / (w + 1). DEMA feeds EMA(w) into a second EMA(w)
(seeded by the mean of its first w outputs), TEMA into a third. O(1) per window.
"""
from __future__ import annotations

import numba

from aggregator.features.layout import (
    H_CLOSE, HIST_MASK, NW, R_E1, R_E1S, R_E2, R_E2S, R_E3, R_E3S, WINDOWS,
)


@numba.njit(cache=True, nogil=True, inline="always")
def feed(cell, value, seed, m, w, k, x) -> None:
    """Give input number ``m`` (1-based) ``x`` to a TA-Lib EMA(w) kept in cell[value], cell[seed]."""
    if m < w:
        cell[seed] += x
    elif m == w:
        cell[seed] += x
        cell[value] = cell[seed] / w
    else:
        cell[value] = ((x - cell[value]) * k) + cell[value]


@numba.njit(cache=True, nogil=True)
def update(state, slot) -> None:
    """Advance the three EMA stages of every window with the newest close."""
    n = state.bars[slot]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE]
    rec = state.rec[slot]
    for i in range(NW):
        w = WINDOWS[i]
        k = 2.0 / (w + 1)
        cell = rec[:, i]
        feed(cell, R_E1, R_E1S, n, w, k, c)
        m2 = n - w + 1  # EMA outputs exist from bar w on
        if m2 >= 1:
            feed(cell, R_E2, R_E2S, m2, w, k, cell[R_E1])
            m3 = m2 - w + 1
            if m3 >= 1:
                feed(cell, R_E3, R_E3S, m3, w, k, cell[R_E2])
