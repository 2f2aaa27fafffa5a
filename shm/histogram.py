"""The one latency histogram: its bucket layout and its quantile rule, for the aggregator and the writer.

Plain numpy functions: the writer (no Numba) calls them as they are, the
aggregator compiles ``bucket_of`` and ``quantiles`` with ``numba.njit``
(aggregator/latency.py), so every row of the ``latency`` table follows one
definition.

Log-linear buckets, 16 per octave: values below 32 ns get a bucket each; above,
an octave [2^k, 2^(k+1)) is cut into 16 equal buckets. With
``shift = max(bit_length(v) - 5, 0)`` a value v >= 0 (ns) falls in bucket
``shift * 16 + (v >> shift)``; negative values (a venue's clock ahead of ours)
count as 0; 960 buckets hold every int64::

   v      0  1 ...  31 | 32  34 ...  62 | 64  68 ... 124 | ... | 2^62 ... 2^63 - 2^58
   index  0  1 ...  31 | 32  33 ...  47 | 48  49 ...  63 | ... | 944  ...  959
   width  1            | 2              | 4              | ... | 2^58

These are the edges both earlier histograms had on integer ns: the
aggregator's (which stopped at 2^45 ns, ~9.8 h, and clamped above) and the
writer's (which stored 1 for values <= 0).

Quantile rule: the q-quantile is the smallest recorded value with at least
q * count values at or below it (max: q = 1), reported as the midpoint of its
bucket, ``lower + (width - 1) / 2``. A bucket of width w starts at 16 w or
above, so the reported value is within half a bucket, under 1/32 (3.1 %), of
the exact one; below 32 ns it is exact. (Earlier, the aggregator reported
``lower * 33/32`` and the writer the bucket's upper edge capped at the exact max.)
"""
from __future__ import annotations

import numpy as np

SUB_BITS = 4
SUB = 1 << SUB_BITS  # buckets per octave
BUCKETS = 60 * SUB  # 2 exact octaves (0..31) + 58 more up to 2^63
QUANTILES = (0.5, 0.9, 0.99, 0.999, 1.0)  # the LATENCY row's p50, p90, p99, p999 and max


def bucket_of(value):
    """Bucket index of ``value`` ns: an int (also in Numba) or an int64 array (then an array)."""
    value = np.maximum(value, 0)
    # floor(log2 v) may be one off within a few ulp of a power of two; the index comes out the same
    shift = np.maximum(np.int64(np.log2(np.maximum(value, 1))) - SUB_BITS, 0)
    return shift * SUB + (value >> shift)


def add(counts: np.ndarray, values: np.ndarray) -> None:
    """Count an int64 array of values (ns) into ``counts`` (numpy; Numba code counts one value at a time)."""
    counts += np.bincount(bucket_of(np.asarray(values, dtype=np.int64)), minlength=BUCKETS)


def quantiles(counts: np.ndarray) -> np.ndarray:
    """The QUANTILES of the values counted in ``counts`` (ns, float64); NaN when nothing was counted."""
    cumulative = np.cumsum(counts)
    total = cumulative[-1]
    values = np.full(len(QUANTILES), np.nan)
    if total == 0:
        return values
    for k, q in enumerate(QUANTILES):
        index = np.int64(np.searchsorted(cumulative, max(q * total, 1.0)))  # first bucket reaching rank q * total
        shift = max(index // SUB - 1, 0)
        values[k] = ((index - shift * SUB) << shift) + ((1 << shift) - 1) / 2
    return values
