"""One status line for `tickagg run`: ticks in, ticks through the aggregator, rows stored, lag.

A ring that cannot be read (damaged, foreign, truncated) is counted and named
in the line, never fatal: the others are shown as usual."""
from __future__ import annotations

import os
import time

import orjson

from shm import segment
from shm.ring import MONITOR, Ring, RingError, ring_name
from shm.topology import tick_ring


class GroupStatus:
    def __init__(self, group: str, exchanges: list[str], writer_report: str | None):
        self.group, self.exchanges, self.writer_report = group, exchanges, writer_report
        self._last: tuple[float, int, int] | None = None
        self._damaged: list[str] = []

    def _ring(self, short: str) -> dict | None:
        """The ring's status; None if it does not exist; ``{"error": ...}`` if it cannot be read."""
        name = ring_name(self.group, short)
        if not segment.exists(name):
            return None
        try:
            with Ring(name, MONITOR, numba=False) as ring:
                status = ring.status()
        except (RingError, OSError, ValueError) as exc:
            status = {"ring": name, "error": str(exc)}
        if "error" in status or status.get("problem"):
            self._damaged.append(short)
        return status

    def line(self, final: bool = False) -> str:
        self._damaged = []
        feeds = [(self._ring(tick_ring(x)) or {}).get("metrics", {}) for x in self.exchanges]
        received = sum(f.get("ticks", 0) for f in feeds)
        connected = sum(1 for f in feeds if f.get("connected"))
        errors = sum(f.get("errors", 0) for f in feeds)
        aggregated = (self._ring("out.ticks") or {}).get("metrics", {}).get("ticks", 0)
        stored, spilled = self._stored()
        now = time.monotonic()
        rate = ""
        if self._last is not None:
            elapsed = now - self._last[0]
            rate = f" ({(received - self._last[1]) / elapsed:,.0f}/s in, {(aggregated - self._last[2]) / elapsed:,.0f}/s aggregated)"
        self._last = (now, received, aggregated)
        head = "final:" if final else "status:"
        store = "" if stored is None else f", {stored:,} stored" + (f" ({spilled:,} rows spilled)" if spilled else "")
        damaged = f", damaged rings: {' '.join(self._damaged)} (see `tickagg rings`)" if self._damaged else ""
        return (f"{head} feeds {connected}/{len(self.exchanges)} connected, {received:,} ticks received{rate}, "
                f"{aggregated:,} aggregated{store}, {errors} bad frames{damaged}")

    def _stored(self) -> tuple[int | None, int]:
        if not self.writer_report or not os.path.exists(self.writer_report):
            return (None, 0) if not self.writer_report else (0, 0)
        try:
            with open(self.writer_report, "rb") as f:
                report = orjson.loads(f.read())
        except (OSError, orjson.JSONDecodeError):
            return 0, 0
        return int(report.get("rows_stored", {}).get("ticks", 0)), int(report.get("spill_rows", 0))
