"""Wilder-smoothed recursions for every window: RSI's average gain/loss and ATR, as TA-Lib.

Both start with the simple mean of the first w inputs (price changes, true
ranges from the second bar on), then avg = (avg * (w - 1) + x) / w, in
TA-Lib's order of operations. O(1) per window.
"""
from __future__ import annotations

import numba

from aggregator.features.layout import (
    H_CLOSE, H_HIGH, H_LOW, HIST_MASK, NW, R_ATR, R_GAIN, R_LOSS, WINDOWS,
)


@numba.njit(cache=True, nogil=True, inline="always")
def _wilder(avg, i, m, w, x) -> None:
    """Input number ``m`` (1-based) of a Wilder average of period w held in avg[i]."""
    if m < w:
        avg[i] += x
    elif m == w:
        avg[i] += x
        avg[i] /= w
    else:
        avg[i] *= w - 1
        avg[i] += x
        avg[i] /= w


@numba.njit(cache=True, nogil=True)
def update(state, slot) -> None:
    """Advance RSI gain/loss and ATR of every window with the newest bar."""
    t = state.bars[slot] - 1
    if t == 0:
        return
    row = state.hist[slot, t & HIST_MASK]
    pc = state.hist[slot, (t - 1) & HIST_MASK, H_CLOSE]
    h = row[H_HIGH]
    l = row[H_LOW]
    diff = row[H_CLOSE] - pc
    gain = diff if diff > 0.0 else 0.0
    loss = -diff if diff < 0.0 else 0.0
    true_range = max(h - l, abs(pc - h), abs(pc - l))
    rec = state.rec[slot]
    for i in range(NW):
        w = WINDOWS[i]
        _wilder(rec[R_GAIN], i, t, w, gain)
        _wilder(rec[R_LOSS], i, t, w, loss)
        _wilder(rec[R_ATR], i, t, w, true_range)
