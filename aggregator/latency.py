"""Latency histograms in Numba, summarised once a second into LATENCY rows and added to running totals.

The buckets and the quantile rule are shm/histogram.py's, compiled here, so the
aggregator's rows and the writer's follow one definition. Histograms are
indexed ``[stage, exchange_id, bucket]``; stages are the STAGE_* constants of
shm/pipeline_records.py. The totals (same shape, counts since start) are what
aggregator/main.py publishes for other processes (shm/histogram_segment.py).
"""
from __future__ import annotations

import numba
import numpy as np

from shm import histogram

STAGES = 5
EXCHANGES = 16  # exchange ids 0..15

bucket_of = numba.njit(cache=True, inline="always")(histogram.bucket_of)
quantiles = numba.njit(cache=True)(histogram.quantiles)


def new_histograms() -> np.ndarray:
    return np.zeros((STAGES, EXCHANGES, histogram.BUCKETS), dtype=np.int64)


@numba.njit(cache=True, inline="always")
def record(histograms: np.ndarray, stage: int, exchange_id: int, value: int) -> None:
    histograms[stage, exchange_id & (EXCHANGES - 1), bucket_of(value)] += 1


@numba.njit(cache=True)
def summarise(histograms: np.ndarray, totals: np.ndarray, second_ns: int, out: np.ndarray, start: int) -> int:
    """Write one LATENCY row per (stage, exchange) with data into ``out[start:]``, add it to ``totals``, reset.

    Returns the number of rows written.
    """
    rows = start
    for stage in range(histograms.shape[0]):
        for exchange in range(histograms.shape[1]):
            counts = histograms[stage, exchange]
            total = counts.sum()
            if total == 0 or rows >= out.size:
                continue
            p50, p90, p99, p999, highest = quantiles(counts)
            row = out[rows]
            row.second_ns = second_ns
            row.stage = stage
            row.exchange_id = exchange
            row.count = total
            row.p50 = p50
            row.p90 = p90
            row.p99 = p99
            row.p999 = p999
            row.max = highest
            totals[stage, exchange] += counts
            counts[:] = 0
            rows += 1
    return rows - start
