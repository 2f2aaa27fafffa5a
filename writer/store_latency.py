"""The writer's own latency stage, tick -> store: each tick's feed receive stamp to the store's acknowledgement.

Three views of the same counts (log-linear buckets of shm/histogram.py):
- ``run``: the whole run, for the status report (``summary``);
- one histogram per (second, exchange), turned into LATENCY rows once the second is over (``finished_rows``),
  which the writer stores beside the aggregator's rows;
- ``totals[stage, exchange, bucket]``, cumulative, published once a second in
  ``tickagg.<group>.store_latency_hist`` (shm/histogram_segment.py) for the Prometheus exporter.
"""
from __future__ import annotations

import numpy as np

from shm import histogram
from shm.histogram_segment import SHAPE, open_publisher
from shm.pipeline_records import LATENCY, STAGE_TICK_TO_STORE


class StoreLatency:
    def __init__(self):
        self.run = np.zeros(histogram.BUCKETS, dtype=np.int64)
        self._seconds: dict[tuple[int, int], np.ndarray] = {}  # (second ns, exchange id) -> its histogram
        self.totals = np.zeros(SHAPE, dtype=np.int64)
        self._publisher = None  # from open(): None when the segment cannot be used (logged there)

    def open(self, group: str) -> None:
        self._publisher = open_publisher(group, "writer")

    def record(self, ticks: np.ndarray, acked_ns: int) -> None:
        """Count the ticks of a batch the store acknowledged at ``acked_ns`` (ticks without a receive stamp: not)."""
        received = ticks["ts_recv_ns"]
        valid = received > 0
        if not valid.any():
            return
        delays = acked_ns - received[valid]
        histogram.add(self.run, delays)
        second = acked_ns // 1_000_000_000 * 1_000_000_000
        exchanges = ticks["exchange_id"][valid]
        for exchange in np.unique(exchanges):
            counts = self._seconds.setdefault((second, int(exchange)), np.zeros(histogram.BUCKETS, dtype=np.int64))
            mine = delays[exchanges == exchange]
            histogram.add(counts, mine)
            histogram.add(self.totals[STAGE_TICK_TO_STORE, int(exchange) & (SHAPE[1] - 1)], mine)

    def finished_rows(self, current_second_ns: int, everything: bool = False) -> np.ndarray:
        """LATENCY rows of the seconds before ``current_second_ns`` (all, with ``everything``), forgotten here."""
        done = [key for key in self._seconds if everything or key[0] < current_second_ns]
        rows = np.zeros(len(done), LATENCY)
        for i, key in enumerate(done):
            counts = self._seconds.pop(key)
            rows[i] = (key[0], STAGE_TICK_TO_STORE, key[1], 0, counts.sum(), *histogram.quantiles(counts))
        return rows

    def publish(self) -> None:
        if self._publisher is not None:
            self._publisher.publish(self.totals)

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.publish(self.totals)
            self._publisher.close()
            self._publisher = None

    def summary(self) -> dict:
        return latency_summary(self.run)


def latency_summary(counts: np.ndarray) -> dict:
    """Count and quantiles (ns) of a histogram, as the status report shows them; 0 before any tick is stored."""
    p50, p90, p99, p999, highest = np.nan_to_num(histogram.quantiles(counts)).tolist()
    return {"count": int(counts.sum()), "p50": p50, "p90": p90, "p99": p99, "p999": p999, "max": highest}
