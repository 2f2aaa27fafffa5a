"""MACD for each (fast, slow, signal) in MACD_SETS, exactly as TA-Lib's MACD.

TA-Lib aligns the two EMAs: the slow EMA is seeded with the mean of closes
0..slow-1, the fast one with the mean of closes slow-fast..slow-1, so both
start at bar slow-1; the signal EMA is seeded with the mean of the first
``signal`` MACD values. Outputs (macd, macdsig, macdhist = macd - macdsig)
are NaN before bar slow + signal - 2 (0-based), where TA-Lib starts too.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.ema import feed
from aggregator.features.layout import (
    F_MACD, H_CLOSE, HIST_MASK, M_FAST, M_FAST_SEED, M_SIG, M_SIG_SEED, M_SLOW, M_SLOW_SEED,
    MACD_SETS,
)


@numba.njit(cache=True, nogil=True)
def update(state, slot) -> None:
    """Advance fast, slow and signal EMAs of every set with the newest close."""
    n = state.bars[slot]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE]
    for s in range(len(MACD_SETS)):
        fast = MACD_SETS[s, 0]
        slow = MACD_SETS[s, 1]
        signal = MACD_SETS[s, 2]
        cell = state.macd[slot, s]
        feed(cell, M_SLOW, M_SLOW_SEED, n, slow, 2.0 / (slow + 1), c)
        m_fast = n - (slow - fast)
        if m_fast >= 1:
            feed(cell, M_FAST, M_FAST_SEED, m_fast, fast, 2.0 / (fast + 1), c)
        m_sig = n - slow + 1
        if m_sig >= 1:
            feed(cell, M_SIG, M_SIG_SEED, m_sig, signal, 2.0 / (signal + 1), cell[M_FAST] - cell[M_SLOW])


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    """macd_F_S_G, macdsig_F_S_G, macdhist_F_S_G per set, from F_MACD on."""
    n = state.bars[slot]
    for s in range(len(MACD_SETS)):
        col = F_MACD + 3 * s
        if n < MACD_SETS[s, 1] + MACD_SETS[s, 2] - 1:
            out[col] = math.nan
            out[col + 1] = math.nan
            out[col + 2] = math.nan
            continue
        cell = state.macd[slot, s]
        macd = cell[M_FAST] - cell[M_SLOW]
        out[col] = macd
        out[col + 1] = cell[M_SIG]
        out[col + 2] = macd - cell[M_SIG]
