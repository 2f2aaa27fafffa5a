"""Live counters of the group, sampled once a second from shared memory and the writer's status file
(tickagg/group_snapshot.py), kept since the dashboard started: every second of the last hour, one a minute
before that, up to 24 h (5,040 samples, a few MB with ten venues).

Two live panels, in the same layout as the stored ones (tickagg/dashboard/series.py): ``writer`` (records not yet
read by the writer and by the aggregator, the writer's spill in rows and MB) and ``feed_counters`` (per venue
since its feed started: ring drops, sequence gaps, reconnects; cumulative as the rings keep them).
"""
from __future__ import annotations

import collections
import logging
import threading
import time

log = logging.getLogger("tickagg.dashboard")
RECENT_S = 3600  # every sample of the last hour
COARSE_EVERY_S, KEEP_S = 60, 24 * 3600  # then one a minute, for a day

LIVE_PANELS = {
    "writer": ("Writer lag and spill (live)", "records"),
    "feed_counters": ("Drops, gaps and reconnects per venue (live, since each feed started)", "count"),
}


def sample(snapshot: dict) -> dict[str, dict[str, float | None]]:
    """One second's values per live panel, from a ``read_group`` snapshot."""
    writer, aggregator = snapshot.get("writer", {}), snapshot.get("aggregator", {})
    spill_bytes = writer.get("spill_bytes")
    values = {"writer": {
        "writer_lag_records": writer.get("lag_records"),
        "aggregator_lag_records": aggregator.get("lag_records"),
        "spill_rows": writer.get("spill_rows"),
        "spill_mb": None if spill_bytes is None else spill_bytes / (1 << 20),
    }, "feed_counters": {}}
    for venue, counters in sorted(snapshot.get("venues", {}).items()):
        for name in ("drops", "gaps", "reconnects"):
            values["feed_counters"][f"{venue} {name}"] = counters.get(name)
    return values


class LiveHistory:
    """Samples of the group's counters, one a second, taken by a thread (``start``) or by ``take``."""

    def __init__(self, group: str, state_dir: str):
        self.group, self.state_dir = group, state_dir
        self._recent: collections.deque[tuple[int, dict]] = collections.deque(maxlen=RECENT_S)
        self._coarse: collections.deque[tuple[int, dict]] = collections.deque(maxlen=KEEP_S // COARSE_EVERY_S)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error = ""

    def take(self) -> None:
        from tickagg.group_snapshot import read_group

        try:
            values = sample(read_group(self.group, state_dir=self.state_dir))
            self.error = ""
        except Exception as exc:  # noqa: BLE001 — the page shows why; the next second tries again
            self.error = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning("live counters of group %s: %s", self.group, self.error)
            return
        now = int(time.time())
        with self._lock:
            self._recent.append((now, values))
            if not self._coarse or now - self._coarse[-1][0] >= COARSE_EVERY_S:
                self._coarse.append((now, values))

    def start(self) -> None:
        def loop():
            while not self._stop.is_set():
                self.take()
                self._stop.wait(1.0)
        threading.Thread(target=loop, name="live-counters", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def panel(self, name: str, from_s: int, to_s: int) -> dict:
        """Panel ``name``'s samples within [from_s, to_s) in the series layout."""
        with self._lock:
            first_recent = self._recent[0][0] if self._recent else to_s
            kept = [*(c for c in self._coarse if c[0] < first_recent), *self._recent]
        samples = [(t, values[name]) for t, values in kept if from_s <= t < to_s]
        labels = sorted({label for _, values in samples for label in values})
        series = [{"label": label, "values": [values.get(label) for _, values in samples]} for label in labels]
        points = sum(v is not None for s in series for v in s["values"])
        return {"x": [t for t, _ in samples], "series": series, "points": points}
