"""Rolling highest high and lowest low for every window from one monotonic deque each.

One deque per symbol and side holds the bar indices of the last MAX_WINDOW
bars whose high (low) no later bar has reached: values strictly decrease from
front to back. Each window keeps a pointer to its own front in that deque:
- when the new bar pops the element a window points at, the new bar is that
  window's extreme (it is at least as high and newer);
- otherwise, if the pointed bar just left the window (index t - w), the next
  deque element is the extreme of what remains (one bar leaves per step).
So every window is O(1) per bar and the deque is amortized O(1): exact, no
floating arithmetic. Ties resolve to the most recent bar.
"""
from __future__ import annotations

import numba

from aggregator.features.layout import DQ_MASK, H_HIGH, H_LOW, HIST_MASK, MAX_WINDOW, NW, WINDOWS

MAX_SIDE = 0  # deque of highs: rolling max
MIN_SIDE = 1  # deque of lows: rolling min


@numba.njit(cache=True, nogil=True)
def update(state, slot) -> None:
    """Push bar t = bars - 1 into both deques and move every window's front."""
    t = state.bars[slot] - 1
    hist = state.hist[slot]
    for side in range(2):
        col = H_HIGH if side == MAX_SIDE else H_LOW
        sign = 1.0 if side == MAX_SIDE else -1.0
        dq = state.dq[slot, side]
        ends = state.dq_ends[slot, side]
        fronts = state.dq_win[slot, side]
        x = sign * hist[t & HIST_MASK, col]
        head = ends[0]
        tail = ends[1]
        while tail > head and sign * hist[dq[(tail - 1) & DQ_MASK] & HIST_MASK, col] <= x:
            tail -= 1
        new_pos = tail
        dq[new_pos & DQ_MASK] = t
        tail += 1
        while dq[head & DQ_MASK] <= t - MAX_WINDOW:
            head += 1
        ends[0] = head
        ends[1] = tail
        for i in range(NW):
            p = fronts[i]
            if p >= new_pos:
                fronts[i] = new_pos
            elif dq[p & DQ_MASK] <= t - WINDOWS[i]:
                fronts[i] = p + 1


@numba.njit(cache=True, nogil=True, inline="always")
def extreme(state, slot, side, i):
    """(value, bar index) of the highest high (side 0) or lowest low (side 1) in window i."""
    index = state.dq[slot, side, state.dq_win[slot, side, i] & DQ_MASK]
    col = H_HIGH if side == MAX_SIDE else H_LOW
    return state.hist[slot, index & HIST_MASK, col], index
