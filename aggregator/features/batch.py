"""Drive ``update`` over many BAR records, the way the aggregator's kernel calls it.

The loop is @njit and passes record fields to the same ``kernel.update`` the
aggregator calls, with the same argument types (one compiled specialization):
the CSV command, the bench and the tests use it, so "offline" and "live"
cannot diverge.
"""
from __future__ import annotations

import numba
import numpy as np

from aggregator.features.kernel import update
from aggregator.features.state import FeatureState, new_state
from shm.pipeline_records import FEATURE_COUNT


@numba.njit(cache=True, nogil=True)
def update_records(state, bars, slots, out) -> None:
    """Bar record j (BAR dtype) updates slot slots[j]; its features go to out[j]."""
    for j in range(bars.shape[0]):
        b = bars[j]
        update(state, slots[j], b.open, b.high, b.low, b.close, b.volume, b.buy_volume,
               b.sell_volume, b.vwap, b.count, out[j])


def compute_records(bars: np.ndarray, state: FeatureState | None = None, slot: int = 0) -> np.ndarray:
    """Features of consecutive BAR records of one symbol: an array (len(bars), FEATURE_COUNT)."""
    state = new_state(slot + 1) if state is None else state
    out = np.empty((len(bars), FEATURE_COUNT))
    update_records(state, bars, np.full(len(bars), slot, np.int64), out)
    return out
