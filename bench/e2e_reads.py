"""bench e2e: how the feeds read during the loaded window, per venue, from their counters in each tick ring's
header (feeds/metrics.py ``frames``, ``reads``, ``batch_waits``). A feed that drains its socket sooner reads smaller
pieces and wakes more often per trade, and so does the simulator that writes to it: a change in CPU per tick may be a
change in frames per read (session 12 saw the group's CPU per tick rise while every feed bench said the feed got
cheaper).
"""
from __future__ import annotations

from shm.ring import MONITOR, Ring, RingError, ring_name


def feed_counters(group: str, venues) -> dict[str, tuple[int, int, int]]:
    """venue -> (frames, reads, batching waits) so far; a venue whose ring cannot be read now is left out."""
    counters = {}
    for venue in venues:
        try:
            with Ring(ring_name(group, venue), MONITOR) as ring:
                metrics = ring.status()["metrics"] or {}
        except (RingError, OSError):
            continue
        counters[venue] = tuple(int(metrics.get(name, 0)) for name in ("frames", "reads", "batch_waits"))
    return counters


def reads_per_venue(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]],
                    seconds: float) -> dict:
    """venue -> {"reads_per_s", "frames_per_read", "waits_per_s"} between two ``feed_counters`` (a venue missing
    before counts from 0; frames_per_read None without reads; waits: the read batching's, feeds/batching.py)."""
    result = {}
    for venue, (frames_after, reads_after, waits_after) in sorted(after.items()):
        frames_before, reads_before, waits_before = before.get(venue, (0, 0, 0))
        frames, reads = frames_after - frames_before, reads_after - reads_before
        result[venue] = {"reads_per_s": _per_s(reads, seconds),
                         "frames_per_read": round(frames / reads, 2) if reads > 0 else None,
                         "waits_per_s": _per_s(waits_after - waits_before, seconds)}
    return result


def _per_s(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None
