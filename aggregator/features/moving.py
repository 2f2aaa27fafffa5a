"""Moving averages of close and the distance of close from them, for every window.

- sma_w: mean of the last w closes (TA-Lib SMA); kept as Kc + sum(c - Kc) / w.
- ema_w, dema_w, tema_w: TA-Lib EMA / DEMA / TEMA (ema.py holds the recursions);
  defined from bar w, 2w - 1 and 3w - 2 (1-based counts) like TA-Lib.
- wma_w: TA-Lib WMA, weights 1 (oldest) .. w (newest): sum((j + 1) c_j) is
  the regression co-moment sum((j - (w-1)/2) c_j) plus (w + 1) / 2 * sum(c_j).
- smadist_w = close / sma - 1, emadist_w = close / ema - 1, computed as
  (close - avg) / avg so tiny moves at a high price keep their digits.
"""
from __future__ import annotations

import math

import numba

from aggregator.features.layout import (
    H_CLOSE, HIST_MASK, NW, P_KC, R_E1, R_E2, R_E3, S_C1, S_CXY, WINDOWS, base,
)

F_SMA = base("sma")
F_EMA = base("ema")
F_WMA = base("wma")
F_DEMA = base("dema")
F_TEMA = base("tema")
F_SMADIST = base("smadist")
F_EMADIST = base("emadist")


@numba.njit(cache=True, nogil=True)
def write(state, slot, out) -> None:
    n = state.bars[slot]
    c = state.hist[slot, (n - 1) & HIST_MASK, H_CLOSE]
    kc = state.scal[slot, P_KC]
    rec = state.rec[slot]
    nan = math.nan
    for i in range(NW):
        w = WINDOWS[i]
        s = state.sums[slot, i]
        if n < w:
            out[F_SMA + i] = nan
            out[F_EMA + i] = nan
            out[F_WMA + i] = nan
            out[F_SMADIST + i] = nan
            out[F_EMADIST + i] = nan
        else:
            mean = s[S_C1] / w  # shifted by Kc
            sma = kc + mean
            ema = rec[R_E1, i]
            out[F_SMA + i] = sma
            out[F_EMA + i] = ema
            out[F_WMA + i] = kc + (s[S_CXY] + (w + 1) / 2.0 * s[S_C1]) / (w * (w + 1) / 2.0)
            out[F_SMADIST + i] = ((c - kc) - mean) / sma
            out[F_EMADIST + i] = (c - ema) / ema
        out[F_DEMA + i] = 2.0 * rec[R_E1, i] - rec[R_E2, i] if n >= 2 * w - 1 else nan
        if n >= 3 * w - 2:
            out[F_TEMA + i] = rec[R_E3, i] + ((3.0 * rec[R_E1, i]) - (3.0 * rec[R_E2, i]))
        else:
            out[F_TEMA + i] = nan
