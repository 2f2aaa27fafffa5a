"""bench e2e: how the feeds read during the loaded window, per venue, from their counters in each tick ring's
header (feeds/metrics.py ``frames``, ``reads``). A feed that drains its socket sooner reads smaller pieces and
wakes more often per trade, and so does the simulator that writes to it: a change in CPU per tick may be a change
in frames per read (session 12 saw the group's CPU per tick rise while every feed bench said the feed got cheaper).
"""
from __future__ import annotations

from shm.ring import MONITOR, Ring, RingError, ring_name


def feed_counters(group: str, venues) -> dict[str, tuple[int, int]]:
    """venue -> (frames, reads) so far; a venue whose ring cannot be read now is left out."""
    counters = {}
    for venue in venues:
        try:
            with Ring(ring_name(group, venue), MONITOR) as ring:
                metrics = ring.status()["metrics"] or {}
        except (RingError, OSError):
            continue
        counters[venue] = (int(metrics.get("frames", 0)), int(metrics.get("reads", 0)))
    return counters


def reads_per_venue(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], seconds: float) -> dict:
    """venue -> {"reads_per_s", "frames_per_read"} between two ``feed_counters`` (a venue missing before counts
    from 0; frames_per_read None without reads)."""
    result = {}
    for venue, (frames_after, reads_after) in sorted(after.items()):
        frames_before, reads_before = before.get(venue, (0, 0))
        frames, reads = frames_after - frames_before, reads_after - reads_before
        result[venue] = {"reads_per_s": round(reads / seconds, 1) if seconds > 0 else None,
                         "frames_per_read": round(frames / reads, 2) if reads > 0 else None}
    return result
