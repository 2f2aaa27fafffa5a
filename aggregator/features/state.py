"""The feature state of every symbol: a few preallocated numpy arrays, one row per slot.

A ``FeatureState`` is a NamedTuple of arrays, so it passes into @njit code as
one argument (the aggregator's kernel holds it and calls ``update``). Nothing
grows after ``new_state``: about 50 KB per symbol (116 MB for 2,378 symbols,
two thirds of it the 256-bar history ring that rolling windows subtract from).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from aggregator.features.layout import (
    DQ_CAP,
    HIST_LEN,
    N_COLS,
    N_MACD,
    N_REC,
    N_SCAL,
    N_SUMS,
    NW,
    MACD_SETS,
)


class FeatureState(NamedTuple):
    bars: np.ndarray  # int64 (n,): bars accepted per symbol (t of the next bar)
    hist: np.ndarray  # float64 (n, HIST_LEN, N_COLS): per-bar series ring (layout.py)
    sums: np.ndarray  # float64 (n, NW, N_SUMS): rolling window sums and counts
    rec: np.ndarray  # float64 (n, N_REC, NW): EMA / Wilder recursions per window
    macd: np.ndarray  # float64 (n, len(MACD_SETS), N_MACD)
    scal: np.ndarray  # float64 (n, N_SCAL): shifts Kc Kr Kv, OBV and its compensation
    dq: np.ndarray  # int64 (n, 2, DQ_CAP): monotonic deques of bar indices (0 max high, 1 min low)
    dq_ends: np.ndarray  # int64 (n, 2, 2): deque head, tail (absolute positions)
    dq_win: np.ndarray  # int64 (n, 2, NW): each window's front position in the deque
    scratch: np.ndarray  # float64 (n, 2, N_SUMS): per-slot work rows (new bar, leaving bar)


def new_state(n_symbols: int) -> FeatureState:
    """Zeroed state for ``n_symbols`` slots; slot = the symbol's index chosen by the caller."""
    n = int(n_symbols)
    if n < 1:
        raise ValueError(f"n_symbols must be >= 1, got {n_symbols}")
    return FeatureState(
        bars=np.zeros(n, np.int64),
        hist=np.zeros((n, HIST_LEN, N_COLS)),
        sums=np.zeros((n, NW, N_SUMS)),
        rec=np.zeros((n, N_REC, NW)),
        macd=np.zeros((n, len(MACD_SETS), N_MACD)),
        scal=np.zeros((n, N_SCAL)),
        dq=np.zeros((n, 2, DQ_CAP), np.int64),
        dq_ends=np.zeros((n, 2, 2), np.int64),
        dq_win=np.zeros((n, 2, NW), np.int64),
        scratch=np.zeros((n, 2, N_SUMS)),
    )


def reset_slot(state: FeatureState, slot: int) -> None:
    """Forget one symbol (e.g. its slot is reused for a new symbol)."""
    for array in state:
        array[slot] = 0
