"""The log-linear latency buckets (shm/histogram.py) as Prometheus ``le`` buckets that resolve microseconds.

Prometheus histograms count values at or below fixed bounds (``le``). Ours are
1, 2, 5 per decade from 1 µs to 10 s (``BOUNDS_S``), then ``+Inf``. A
log-linear bucket holds the integer ns values ``lower .. highest``; all its
counts go to the first bound at or above ``highest``. So the mapping is exact
as an upper bound (no value is counted under a bound it exceeds), and a value
is counted at most one bound too high only when its bucket straddles a bound
(a bucket spans under 1/16 of an octave: only values within 6.25 % below a
bound, e.g. 992..1,000 ns, go to the next one). ``_sum`` is estimated from the
bucket midpoints (within 3.1 %).
"""
from __future__ import annotations

import numpy as np

from shm import histogram

BOUNDS_S = tuple(float(f"{m}e{e}") for e in range(-6, 1) for m in (1, 2, 5)) + (10.0,)  # 1 µs .. 10 s
BOUNDS_NS = np.array([round(bound * 1e9) for bound in BOUNDS_S], dtype=np.int64)
_INDEX = np.arange(histogram.BUCKETS, dtype=np.int64)
_SHIFT = np.maximum(_INDEX // histogram.SUB - 1, 0)
LOWEST = (_INDEX - _SHIFT * histogram.SUB) << _SHIFT  # each bucket's smallest value, ns
HIGHEST = LOWEST + ((np.int64(1) << _SHIFT) - 1)  # and its largest: the last bucket's is 2^63 - 1
MIDPOINT_S = (LOWEST + (HIGHEST - LOWEST) / 2) / 1e9
BOUND_OF = np.searchsorted(BOUNDS_NS, HIGHEST, side="left")  # bucket -> index in BOUNDS_NS; len(BOUNDS_NS): +Inf
LABELS = tuple(f"{bound:g}" for bound in BOUNDS_S) + ("+Inf",)


def le_buckets(counts: np.ndarray) -> tuple[list[tuple[str, float]], float]:
    """``([(le, cumulative count), ... (+Inf, total)], estimated sum in seconds)`` of one bucket-count array."""
    per_bound = np.bincount(BOUND_OF, weights=counts, minlength=len(LABELS))
    cumulative = np.cumsum(per_bound)
    return list(zip(LABELS, cumulative.tolist())), float(np.dot(counts, MIDPOINT_S))
