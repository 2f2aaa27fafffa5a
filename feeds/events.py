"""Feed events (connect, disconnect, gaps, error counts) to the `<exchange>.events` ring, and
rate-limited logging, so one bad frame per microsecond cannot flood a log."""
from __future__ import annotations

import logging
import time

from shm.record_forms import EVENT_DETAIL_BYTES, EVENT_STRUCT
from shm.records import EXCHANGE_IDS


class FeedEvents:
    """Writes EVENT records (packed by ``struct``: shm/record_forms.py); a full events ring drops (and counts)
    like any ring."""

    def __init__(self, exchange: str, ring=None):
        """``ring``: the events ring, a producer without Numba (shm/plain_ring.py) or any ring with ``push_batch``
        of EVENT records; None: events go nowhere."""
        self.exchange_id = EXCHANGE_IDS[exchange]
        self.ring = ring
        self._push = ring.record_pusher(EVENT_STRUCT) if getattr(ring, "pushes_records", False) else None

    def emit(self, kind: int, value: int = 0, detail: str = "", symbol_id: int = 0) -> None:
        if self.ring is None:
            return
        fields = (time.time_ns(), self.exchange_id, kind, symbol_id, value,
                  detail.encode("utf-8", "replace")[:EVENT_DETAIL_BYTES])
        if self._push is not None:
            self._push(fields)
        else:  # a ring with NumPy (no plain stores on this CPU)
            from shm.pipeline_records import EVENT
            import numpy as np

            self.ring.push_batch(np.frombuffer(EVENT_STRUCT.pack(*fields), EVENT))


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
