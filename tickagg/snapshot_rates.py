"""Rates between two group snapshots (tickagg/group_snapshot.py): ticks/s per venue and through the aggregator,
rows/s stored, and the p99 of the time the store took for the ticks inserts between them. A counter that went down
(its process restarted and counts from 0 again) or a clock that went back gives None for that rate, never a
negative one."""
from __future__ import annotations


def rates(earlier: dict, later: dict) -> dict:
    """``{"elapsed_s", "venues": {venue: {"ticks_per_s"}}, "aggregator": {"ticks_per_s"},
    "writer": {"rows_per_s", "ticks_per_s", "ticks_insert_p99_ms"}}`` from ``earlier`` to ``later`` (same group;
    the p99 None without a ticks insert between them)."""
    elapsed = (later["time_ns"] - earlier["time_ns"]) / 1e9
    venues = {venue: {"ticks_per_s": per_second(earlier["venues"].get(venue, {}).get("ticks"), now["ticks"], elapsed)}
              for venue, now in later["venues"].items()}
    before, after = earlier["writer"]["rows_stored"], later["writer"]["rows_stored"]
    return {
        "elapsed_s": round(elapsed, 3),
        "venues": venues,
        "received_per_s": per_second(total_ticks(earlier), total_ticks(later), elapsed),
        "aggregator": {"ticks_per_s": per_second(earlier["aggregator"]["ticks"], later["aggregator"]["ticks"], elapsed)},
        "writer": {"rows_per_s": per_second(sum(before.values()), sum(after.values()), elapsed),
                   "ticks_per_s": per_second(before.get("ticks"), after.get("ticks"), elapsed),
                   "ticks_insert_p99_ms": insert_p99_ms(earlier["writer"].get("tick_inserts"),
                                                        later["writer"].get("tick_inserts"), elapsed)},
    }


def insert_p99_ms(before: dict | None, after: dict | None, elapsed_s: float) -> float | None:
    """The p99 of the ticks inserts acknowledged between two snapshots' ``tick_inserts`` (a writer that restarted,
    counting from 0 again, or none in between: None)."""
    if before is None or after is None or elapsed_s <= 0:
        return None
    from writer.insert_times import window  # here: it brings NumPy

    between = window({"ticks": before}, {"ticks": after}, elapsed_s).get("ticks")
    return None if between is None else between["p99_ms"]


def total_ticks(snapshot: dict) -> int:
    """Ticks received by every venue's feed."""
    return sum(venue["ticks"] for venue in snapshot["venues"].values())


def per_second(before: int | None, after: int | None, elapsed_s: float) -> float | None:
    if before is None or after is None or elapsed_s <= 0 or after < before:
        return None
    return round((after - before) / elapsed_s, 1)
