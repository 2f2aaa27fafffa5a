"""The writer's status report: its counters, rings, spill, symbols, latency and insert times (writer/insert_times.py)
as one JSON document, published every second to the status files (writer/status_file.py) where `tickagg status`,
`tickagg run`, the dashboards and `bench e2e` read it (a mixin of writer.Writer)."""
from __future__ import annotations

import os
import resource
import time

import orjson

TIMELINE_SECONDS = 600  # the status report's (time, ticks stored) samples, one a second: the last 10 minutes


class StatusReport:
    def status(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            **self.stats,
            "pid": os.getpid(),
            "store": str(self.url),
            "store_up": self.store_up,
            "store_ever_up": self.store_ever_up,
            "store_error": self.store_error,
            "dead_letter_batches": len(self.dead_letters),
            "dead_letter_rows": self.dead_letters.rows,
            "dead_letters": self.dead_letters.directory,
            "spill_batches": len(self.spill),
            "spill_rows": self.spill.rows,
            "spill_corrupt": self.spill.corrupt,
            "spill_bytes": self.spill.bytes,
            "spill_dropped_rows": dict(self.spill.dropped_rows),
            "spill_dropped_batches": self.spill.dropped_batches,
            "pending_rows": sum(b.count for b in self.batchers.values()),
            "pending_bytes": sum(b.pending_bytes for b in self.batchers.values()),
            "rings": self._ring_status,
            "symbols": self.symbols.status(),
            "tick_to_store_ns": self.latency.summary(),
            "inserts": self.inserts.status(),
            "maxrss_mb": usage.ru_maxrss / 1024,
            "timeline": list(self.timeline),
        }

    def _report(self) -> None:
        self._ring_status = {b.name: {"lag": b.ring.head - b.ring.tail, "dropped": b.ring.dropped} for b in self.batchers.values()}
        self.timeline.append((time.time(), self.stats["rows_stored"].get("ticks", 0)))
        data = orjson.dumps(self.status())
        for status_file in self._status_files:
            status_file.publish(data)
