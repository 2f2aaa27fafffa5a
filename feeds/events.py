"""Feed events (connect, disconnect, gaps, error counts) to the `<exchange>.events` ring, and
rate-limited logging, so one bad frame per microsecond cannot flood a log."""
from __future__ import annotations

import logging
import time

import numpy as np

from shm.pipeline_records import EVENT
from shm.records import EXCHANGE_IDS
from shm.ring import Ring


class FeedEvents:
    """Writes EVENT records; a full events ring drops (and counts) like any ring."""

    def __init__(self, exchange: str, ring: Ring | None):
        self.exchange_id = EXCHANGE_IDS[exchange]
        self.ring = ring
        self._record = np.zeros(1, dtype=EVENT)

    def emit(self, kind: int, value: int = 0, detail: str = "", symbol_id: int = 0) -> None:
        if self.ring is None:
            return
        record = self._record
        record["ts_ns"] = time.time_ns()
        record["exchange_id"], record["kind"], record["symbol_id"], record["value"] = self.exchange_id, kind, symbol_id, value
        record["detail"] = detail.encode("utf-8", "replace")[: EVENT["detail"].itemsize]
        self.ring.push_batch(record)


class RateLimitedLog:
    """At most one line per key every ``every_s`` seconds, saying how many were held back."""

    def __init__(self, logger: logging.Logger, every_s: float = 5.0):
        self.logger, self.every_s = logger, every_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < self.every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        held = self._held.pop(key, 0)
        self._last[key] = now
        self.logger.warning("%s%s", message, f" ({held} more like it not logged)" if held else "")
