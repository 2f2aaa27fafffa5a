"""A log-linear latency histogram: 16 buckets per power of two (quantiles within 6.25 %), numpy only."""
from __future__ import annotations

import numpy as np

SUB = 16  # buckets per power of two
BUCKETS = 64 * SUB


class Histogram:
    def __init__(self):
        self.counts = np.zeros(BUCKETS, dtype=np.int64)
        self.max = 0

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.int64)
        if not len(values):
            return
        values = np.maximum(values, 1)
        mantissa, exponent = np.frexp(values.astype(np.float64))  # value = mantissa * 2**exponent, 0.5 <= m < 1
        index = (exponent.astype(np.int64) - 1) * SUB + ((mantissa * 2 - 1) * SUB).astype(np.int64)
        self.counts += np.bincount(np.clip(index, 0, BUCKETS - 1), minlength=BUCKETS)
        self.max = max(self.max, int(values.max()))

    @property
    def count(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float:
        """Upper edge of the bucket holding quantile ``q`` (0 with no samples); never above the max seen."""
        total = self.count
        if not total:
            return 0.0
        index = int(np.searchsorted(np.cumsum(self.counts), q * total, side="left"))
        exponent, sub = divmod(index, SUB)
        upper = (1 + (sub + 1) / SUB) * 2.0**exponent
        return float(min(upper, self.max))

    def summary(self) -> dict:
        return {"count": self.count, "p50": self.quantile(0.5), "p90": self.quantile(0.9), "p99": self.quantile(0.99),
                "p999": self.quantile(0.999), "max": float(self.max)}

    def clear(self) -> None:
        self.counts[:] = 0
        self.max = 0
