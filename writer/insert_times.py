"""How long the store took to acknowledge each insert, per table: the writer's part of tick-to-storage latency.

The writer inserts one batch at a time, so a tick waits for its own batch to fill, for the insert in progress
(any table's) and for its own. Tick-to-storage (writer/store_latency.py) says how long that was in all; this says
how much of it the store took: per table, the inserts made, the seconds spent in them and a histogram of their
durations (shm/histogram.py's buckets, in ns). The status report shows it as ``inserts`` (writer/status_report.py),
with the histogram's non-empty buckets as ``[index, count]`` pairs, so a reader can take two reports apart
(``window``: what `bench e2e` reports for its loaded window).
"""
from __future__ import annotations

import numpy as np

from shm import histogram
from writer.store_latency import latency_summary


class InsertTimes:
    def __init__(self):
        self._tables: dict[str, np.ndarray] = {}  # table -> histogram of insert durations (ns)
        self._seconds: dict[str, float] = {}

    def record(self, table: str, duration_ns: int) -> None:
        """Count one acknowledged insert into ``table`` that took ``duration_ns``."""
        counts = self._tables.get(table)
        if counts is None:
            counts = self._tables[table] = np.zeros(histogram.BUCKETS, dtype=np.int64)
            self._seconds[table] = 0.0
        counts[histogram.bucket_of(max(int(duration_ns), 0))] += 1
        self._seconds[table] += duration_ns / 1e9

    def status(self) -> dict:
        """table -> {"count", "seconds", "p50_ms", "p99_ms", "max_ms", "buckets": [[index, count], ...]}."""
        return {table: _summary(counts, self._seconds[table]) for table, counts in sorted(self._tables.items())}


def _summary(counts: np.ndarray, seconds: float) -> dict:
    summary = latency_summary(counts)  # the status report's quantiles of a histogram (ns), as for tick-to-store
    return {"count": summary["count"], "seconds": round(seconds, 6), "p50_ms": round(summary["p50"] / 1e6, 3),
            "p99_ms": round(summary["p99"] / 1e6, 3), "max_ms": round(summary["max"] / 1e6, 3),
            "buckets": [[int(index), int(counts[index])] for index in np.flatnonzero(counts)]}


def window(before: dict, after: dict, seconds: float) -> dict:
    """Per table, the inserts between two ``status()`` reports ``seconds`` apart: {"per_s", "p50_ms", "p99_ms",
    "max_ms" (the largest bucket's midpoint), "busy_pct" (share of the window spent in them)}, plus "all": the
    busy share of every table together (a writer busy ~100% inserts back to back and its ticks queue). A table
    without inserts between them is left out, and so is one whose counts went down (the writer restarted: its
    counts began again from 0)."""
    result = {}
    busy = 0.0
    for table, now in sorted(after.items()):
        counts = _counts(now)
        then = before.get(table)
        spent = now["seconds"]
        if then is not None:
            counts -= _counts(then)
            spent -= then["seconds"]
        inserts = int(counts.sum())
        if not inserts or counts.min() < 0:
            continue
        summary = latency_summary(counts)
        busy += spent
        result[table] = {"per_s": round(inserts / seconds, 1) if seconds > 0 else None,
                         "p50_ms": round(summary["p50"] / 1e6, 2), "p99_ms": round(summary["p99"] / 1e6, 2),
                         "max_ms": round(summary["max"] / 1e6, 2),
                         "busy_pct": round(100 * spent / seconds, 1) if seconds > 0 else None}
    result["all"] = {"busy_pct": round(100 * busy / seconds, 1) if seconds > 0 else None}
    return result


def _counts(summary: dict) -> np.ndarray:
    counts = np.zeros(histogram.BUCKETS, dtype=np.int64)
    for index, count in summary.get("buckets", []):
        counts[int(index)] = int(count)
    return counts
