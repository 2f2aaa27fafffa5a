"""Every index of the feature state and of the feature vector, in one place.

The kernels read these module constants (Numba freezes them at compile time),
and the catalogue builds its names from the same tuples, so names and columns
cannot drift apart. Changing anything here changes the catalogue: bump
CATALOGUE_VERSION (and clear stale Numba caches, see aggregator/features/__init__.py).

Per-symbol history ring ``hist[slot, t & HIST_MASK, H_*]``, one row per bar
(16 float64 = 128 bytes, two cache lines; a window's leaving row is one read):

 0       8       16      24      32      40      48      56
 +-------+-------+-------+-------+-------+-------+-------+-------+
 | close | high  | low   | volume| logret| dclose| park  | gk    |
 +-------+-------+-------+-------+-------+-------+-------+-------+
 | rs    | buyvol|sellvol| vwap  | mflow | clv*v | count | spare |
 +-------+-------+-------+-------+-------+-------+-------+-------+
"""
from __future__ import annotations

import numpy as np

from shm.pipeline_records import FEATURE_COUNT

CATALOGUE_VERSION = 1  # bump whenever a name, its meaning or the order changes

# Rolling windows in bars (1 min): every windowed family uses all of them.
WINDOWS = np.array(
    [5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 24, 25, 26,
     28, 30, 35, 40, 45, 50, 55, 60, 75, 90, 100, 120, 150, 180, 210, 240],
    dtype=np.int64,
)
NW = len(WINDOWS)
MAX_WINDOW = 240
HIST_LEN = 256  # ring rows per symbol; >= MAX_WINDOW + 1 (ROC needs close[t - w])
HIST_MASK = HIST_LEN - 1
DQ_CAP = 256  # monotonic deque slots; >= MAX_WINDOW + 1
DQ_MASK = DQ_CAP - 1
REBASE_EVERY = 512  # bars between exact recomputations of a symbol's window sums (power of 2)
REBASE_MOVE = 0.5  # ... or sooner, once close is this far (relative) from the shift Kc
SENTINEL_DROP = 1e-3  # a window whose scale fell this far below its peak is recomputed exactly

CCI_WINDOWS = np.array([10, 14, 20, 30, 40], dtype=np.int64)
MACD_SETS = np.array(  # fast, slow, signal
    [[12, 26, 9], [5, 35, 5], [8, 17, 9], [19, 39, 9], [6, 13, 5], [24, 52, 18]], dtype=np.int64
)

# hist columns (per-bar series, raw values)
(H_CLOSE, H_HIGH, H_LOW, H_VOL, H_LR, H_DC, H_PARK, H_GK,
 H_RS, H_BV, H_SV, H_VWAP, H_MF, H_CLVV, H_COUNT) = range(15)
N_COLS = 16

# Rolling sums, per (symbol, window): sums[slot, i, S_*] (rolling.py says how each is kept).
# Plain sums of x - K (K reset at each rebase: the close, the mean return, the
# mean volume then), exact counts (integers in float64: "all zero", "flat" are
# decided exactly), then central moments kept by add-one / remove-one updates.
(S_C1, S_R1, S_V1,  # sums of close - Kc, return - Kr, volume - Kv
 S_VRAW, S_RSQ, S_PARK, S_GK, S_RS, S_BV, S_SV, S_PV,  # raw sums; S_PV = sum (vwap - Kc) * volume
 S_MFPOS, S_MFNEG, S_CLVV, S_ABSD, S_COUNT,
 N_PARK, N_GK, N_RS, N_VOL, N_BUY, N_SELL, N_RET, N_DC, N_UP, N_MFPOS, N_MFNEG,  # non-zero terms
 N_CHGC, N_CHGR, N_CHGV,  # value changes inside the window: w - 1 transitions
 S_CXY,  # sum of (position - mean position) * close: the regression co-moment
 S_CM2, S_VM2, S_RM2, S_RM3, S_RM4, S_RVC,  # central moments: close, volume, returns; return-volume
 S_PEAK_C, S_PEAK_V, S_PEAK_R, S_PEAK_P) = range(41)  # sentinels' peaks since the window's last exact pass
N_LAGW = N_CHGC  # sums [0, N_LAGW) cover the last w bars: plain add new, subtract leaving
N_SUMS = 41

# Recursions per (symbol, window): rec[slot, R_*, i]
R_E1, R_E1S, R_E2, R_E2S, R_E3, R_E3S, R_GAIN, R_LOSS, R_ATR = range(9)
N_REC = 9

# MACD state per (symbol, set): macd[slot, set, M_*]
M_FAST, M_FAST_SEED, M_SLOW, M_SLOW_SEED, M_SIG, M_SIG_SEED = range(6)
N_MACD = 6

# Per-symbol scalars: scal[slot, P_*]
P_KC, P_KR, P_KV, P_OBV, P_OBV_COMP = range(5)
N_SCAL = 5

# The catalogue, in order: windowed families x WINDOWS, then MACD, OBV, CCI.
FAMILIES = (
    "sma", "ema", "wma", "dema", "tema", "smadist", "emadist",  # moving.py
    "std", "zscore", "skew", "kurt", "retmean", "pvcorr",  # stats.py
    "bb_pctb", "bbwidth",  # bands.py
    "retstd", "rvol", "parkinson", "gk", "rs", "atr", "natr",  # volatility.py
    "rsi", "stoch_k", "willr", "mfi",  # oscillators.py
    "roc", "logret", "er", "upfrac",  # momentum.py
    "maxdist", "mindist", "rangewidth", "hhage", "llage",  # ranges.py
    "volratio", "volz", "vwapdev", "imbalance", "cmf", "countratio",  # volume.py
    "slope", "r2",  # trend.py
)
MACD_KINDS = ("macd", "macdsig", "macdhist")


def base(family: str) -> int:
    """Column of ``<family>_<WINDOWS[0]>``; the family's windows follow in WINDOWS order."""
    return FAMILIES.index(family) * NW


F_MACD = len(FAMILIES) * NW  # per set: macd, macdsig, macdhist
F_OBV = F_MACD + len(MACD_SETS) * len(MACD_KINDS)
F_CCI = F_OBV + 1
F_END = F_CCI + len(CCI_WINDOWS)
assert F_END == FEATURE_COUNT, F_END
assert HIST_LEN > MAX_WINDOW and DQ_CAP > MAX_WINDOW and int(WINDOWS.max()) == MAX_WINDOW
assert REBASE_EVERY & (REBASE_EVERY - 1) == 0 and HIST_LEN & HIST_MASK == 0
