"""Accept one closed bar: repair what can be repaired, derive the per-bar series, append to the ring.

Input rules (the same for the live aggregator and ``tickagg features``):
- close not finite or <= 0: the bar carries no price. It becomes an empty bar
  at the previous close (volume 0); for a symbol's first bar nothing is
  accepted and the caller writes NaN.
- open missing/bad -> close; high := max(high, open, close), low := min(low, open, close).
- volume, buy/sell volume, count missing or negative -> 0 (buy+sell 0 makes
  the imbalance features NaN, 0/0, rather than a made-up 0).
- vwap missing or <= 0 -> close (only weighted by volume, so empty bars ignore it).

Empty intervals (count == 0, OHLC = previous close, volume 0) are ordinary bars:
windows are in bars = minutes, so an empty minute is a minute with zero return,
zero range and zero volume.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import (
    H_BV, H_CLOSE, H_CLVV, H_COUNT, H_DC, H_GK, H_HIGH, H_LOW, H_LR, H_MF, H_PARK, H_RS, H_SV,
    H_VOL, H_VWAP, HIST_MASK,
)

GK_K = 2.0 * math.log(2.0) - 1.0
TP_NOISE = 1e-13  # relative; TA-Lib's MFI uses an absolute 1e-8, which breaks tiny prices


@numba.njit(cache=True, nogil=True, inline="always")
def _positive(x: float, default: float) -> float:
    return x if math.isfinite(x) and x > 0.0 else default


@numba.njit(cache=True, nogil=True)
def accept(state, slot, open_, high, low, close, volume, buy_volume, sell_volume, vwap, count) -> bool:
    """Append the bar to ``slot``'s ring as row t = bars[slot]; False if nothing could be accepted."""
    hist = state.hist[slot]
    t = state.bars[slot]
    prev = hist[(t - 1) & HIST_MASK]
    c = float(close)
    if math.isfinite(c) and c > 0.0:
        o = _positive(float(open_), c)
        h = max(float(high), o, c) if math.isfinite(float(high)) else max(o, c)
        l = min(_positive(float(low), c), o, c)
        v = _positive(float(volume), 0.0)
        bv = _positive(float(buy_volume), 0.0)
        sv = _positive(float(sell_volume), 0.0)
        vw = _positive(float(vwap), c)
        n = _positive(float(count), 0.0)
    elif t > 0:
        c = prev[H_CLOSE]
        o = h = l = vw = c
        v = bv = sv = n = 0.0
    else:
        return False

    row = hist[t & HIST_MASK]
    row[H_CLOSE] = c
    row[H_HIGH] = h
    row[H_LOW] = l
    row[H_VOL] = v
    row[H_BV] = bv
    row[H_SV] = sv
    row[H_VWAP] = vw
    row[H_COUNT] = n
    hl = math.log(h / l)
    co = math.log(c / o)
    row[H_PARK] = hl * hl
    row[H_GK] = 0.5 * hl * hl - GK_K * co * co
    row[H_RS] = math.log(h / c) * math.log(h / o) + math.log(l / c) * math.log(l / o)
    row[H_CLVV] = (((c - l) - (h - c)) / (h - l)) * v if h > l else 0.0
    if t > 0:
        pc = prev[H_CLOSE]
        row[H_LR] = math.log(c / pc)
        row[H_DC] = c - pc
        tp = (h + l + c) / 3.0  # typical price, TA-Lib MFI's order of operations
        dtp = tp - (prev[H_HIGH] + prev[H_LOW] + pc) / 3.0
        noise = TP_NOISE * tp  # (h + l + c) / 3 rounds: a change this small is no change
        row[H_MF] = tp * v if dtp > noise else (-(tp * v) if dtp < -noise else 0.0)
    else:
        row[H_LR] = 0.0
        row[H_DC] = 0.0
        row[H_MF] = 0.0
    state.bars[slot] = t + 1
    return True
