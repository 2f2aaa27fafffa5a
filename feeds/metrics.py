"""A feed's counters, kept in its tick ring's header so `tickagg rings` shows them.

The feed process is the ring's producer, and the metrics block belongs to the
producer, so the counters need no locking. The hot path adds to plain Python
ints and ``flush`` copies them into shared memory once per received chunk.
"""
from __future__ import annotations

from array import array

ERROR_KINDS = (
    "json", "venue_error", "missing_field", "bad_number", "bad_price", "bad_size", "bad_timestamp",
    "bad_trade_id", "bad_side", "unknown_message", "unknown_channel", "unknown_symbol",
    "binary_frame", "oversized_frame", "other",
    # after the parser (feeds/ticks.py, feeds/plausible.py); appended so earlier counters keep their slots
    "implausible_time", "implausible_price", "implausible_size", "bad_symbol", "directory_full", "tick_writer",
)
NAMES = (
    "frames", "bytes", "reads", "ticks", "replayed", "duplicates", "gaps", "gap_trades", "ring_dropped",
    "connects", "reconnects", "stale_reconnects", "lifetime_reconnects", "pings_sent", "replies_sent",
    "connected", "last_frame_ns", "errors",
) + tuple(f"err_{kind}" for kind in ERROR_KINDS) + (
    # appended (earlier counters keep their slots): connections up now ("connected": at least one); batching
    # waits before a read (feeds/batching.py)
    "connections", "batch_waits",
)


class FeedMetrics:
    """Named counters; ``values[name]`` is a plain int until ``flush``."""

    def __init__(self, block=None):
        """``block``: the ring's metric words (int64: a ``memoryview`` or an array), None for none."""
        self.values = dict.fromkeys(NAMES, 0)
        self._block = block
        if block is not None:  # resume the counts of an earlier run of this feed
            for index, name in enumerate(NAMES):
                self.values[name] = int(block[index])
            for name in ("connected", "connections"):  # a killed run's: not this process's
                self.values[name] = block[NAMES.index(name)] = 0

    def error(self, kind: str) -> None:
        key = f"err_{kind}" if f"err_{kind}" in self.values else "err_other"
        self.values[key] += 1
        self.values["errors"] += 1

    def flush(self) -> None:
        if self._block is not None:
            self._block[: len(NAMES)] = array("q", self.values.values())
