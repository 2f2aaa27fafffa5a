"""Log-linear latency histograms in Numba, summarised once a second into LATENCY rows.

A value v (ns) falls in octave e = floor(log2 v) and, inside it, in one of
``SUB`` equal sub-buckets: relative resolution 1/SUB (6 %) at any scale, fixed
memory, O(1) record. Values below SUB ns get exact buckets. Negative values
(clock skew between a venue and us) count in bucket 0 and in ``negative``.

Histograms are indexed ``[stage, exchange_id, bucket]``; stages are the
STAGE_* constants of shm/pipeline_records.py.
"""
from __future__ import annotations

import math

import numba
import numpy as np

SUB_BITS = 4
SUB = 1 << SUB_BITS
OCTAVES = 42  # up to 2^42 ns ~ 73 min
BUCKETS = OCTAVES * SUB
STAGES = 5
EXCHANGES = 16  # exchange ids 0..15


def new_histograms() -> np.ndarray:
    return np.zeros((STAGES, EXCHANGES, BUCKETS), dtype=np.int64)


@numba.njit(cache=True, inline="always")
def bucket_of(value: int) -> int:
    if value < SUB:
        return max(value, 0)
    mantissa, exponent = math.frexp(value)  # value = mantissa * 2**exponent, mantissa in [0.5, 1)
    octave = exponent - SUB_BITS  # >= 1 here
    index = octave * SUB + int((mantissa * 2.0 - 1.0) * SUB)
    return min(index, BUCKETS - 1)


@numba.njit(cache=True)
def bucket_value(index: int) -> float:
    """A representative value of bucket ``index`` (its midpoint)."""
    if index < SUB:
        return float(index)
    octave, sub = index // SUB, index % SUB
    low = (1.0 + sub / SUB) * 2.0 ** (octave + SUB_BITS - 1)
    return low * (1.0 + 0.5 / SUB)


@numba.njit(cache=True, inline="always")
def record(histograms: np.ndarray, stage: int, exchange_id: int, value: int) -> None:
    histograms[stage, exchange_id & (EXCHANGES - 1), bucket_of(value)] += 1


@numba.njit(cache=True)
def quantile(counts: np.ndarray, total: int, q: float) -> float:
    """The value below which a fraction ``q`` of the recorded values lie (bucket resolution)."""
    rank = q * total
    seen = 0
    for index in range(counts.size):
        seen += counts[index]
        if seen >= rank and counts[index] > 0:
            return bucket_value(index)
    return np.nan


@numba.njit(cache=True)
def summarise(histograms: np.ndarray, second_ns: int, out: np.ndarray, start: int) -> int:
    """Write one LATENCY row per (stage, exchange) with data into ``out[start:]``, then reset.

    Returns the number of rows written.
    """
    rows = start
    for stage in range(histograms.shape[0]):
        for exchange in range(histograms.shape[1]):
            counts = histograms[stage, exchange]
            total = counts.sum()
            if total == 0 or rows >= out.size:
                continue
            row = out[rows]
            row.second_ns = second_ns
            row.stage = stage
            row.exchange_id = exchange
            row.count = total
            row.p50 = quantile(counts, total, 0.5)
            row.p90 = quantile(counts, total, 0.9)
            row.p99 = quantile(counts, total, 0.99)
            row.p999 = quantile(counts, total, 0.999)
            highest = 0
            for index in range(counts.size):
                if counts[index]:
                    highest = index
            row.max = bucket_value(highest)
            counts[:] = 0
            rows += 1
    return rows - start
