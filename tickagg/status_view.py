"""`tickagg status` as text: one row per venue, then the aggregator and the writer, from a group snapshot
(tickagg/group_snapshot.py) and, when two were taken, the rates between them (tickagg/snapshot_rates.py).

Plain text only: every name shown comes from this code or was checked by the snapshot (venue names from the
venue list, error kinds and tables matched as names, the store's error without control characters), so nothing
read from shared memory or the writer's file can send escape sequences to the terminal.
"""
from __future__ import annotations

import time

VENUE_HEADER = (f"{'venue':10} {'alive':5} {'conns':>5} {'ticks':>13} {'ticks/s':>9} {'drops':>8} {'gaps':>6} "
                f"{'reconn':>6} {'errors':>7} {'last tick':>9}")


def render(snapshot: dict, change: dict | None = None) -> list[str]:
    """The lines of one view of ``snapshot``; rates from ``change`` (``rates(earlier, snapshot)``) when given."""
    change = change or {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(snapshot["time_ns"] / 1e9))
    lines = [f"tickagg group {snapshot['group']}  {stamp} UTC", VENUE_HEADER]
    for venue, feed in snapshot["venues"].items():
        rate = change.get("venues", {}).get(venue, {}).get("ticks_per_s")
        lines.append(f"{venue:10} {'yes' if feed['alive'] else 'DEAD':5} {feed['connections']:>5} {feed['ticks']:>13,} "
                     f"{_rate(rate):>9} {feed['drops']:>8,} {feed['gaps']:>6,} {feed['reconnects']:>6,} "
                     f"{feed['errors']:>7,} {_seconds(feed['last_tick_age_s']):>9}")
        if feed["errors_by_kind"]:
            kinds = sorted(feed["errors_by_kind"].items(), key=lambda item: -item[1])
            lines.append(f"{'':10}   errors: " + ", ".join(f"{kind} {count:,}" for kind, count in kinds[:6]))
    if not snapshot["venues"]:
        lines.append("(no feed rings)")
    lines.append(aggregator_line(snapshot["aggregator"], change.get("aggregator", {})))
    lines.append(writer_line(snapshot["writer"], change.get("writer", {})))
    if snapshot["unreadable"]:
        lines.append(f"damaged or refused rings: {' '.join(snapshot['unreadable'])} (see `tickagg rings`)")
    return lines


def aggregator_line(aggregator: dict, change: dict) -> str:
    p99 = aggregator["tick_to_signal_p99_ms"]
    return (f"{'aggregator':10} {'yes' if aggregator['alive'] else 'DEAD':5} {aggregator['ticks']:,} ticks "
            f"({_rate(change.get('ticks_per_s'))}), lag {aggregator['lag_records']:,} records "
            f"({_seconds(aggregator['lag_s'])}), tick-to-signal p99 {'-' if p99 is None else f'{p99:,.2f} ms'}")


def writer_line(writer: dict, change: dict) -> str:
    stored = writer["rows_stored"]
    text = (f"{'writer':10} {'yes' if writer['alive'] else 'DEAD':5} {sum(stored.values()):,} rows stored "
            f"({_rate(change.get('rows_per_s'))}; ticks {stored.get('ticks', 0):,}), lag {writer['lag_records']:,} "
            f"records, spill {_count(writer['spill_rows'])} rows ({_bytes(writer['spill_bytes'])})")
    p99, inserts = change.get("ticks_insert_p99_ms"), writer.get("tick_inserts")
    if p99 is not None:  # the store's part of tick-to-storage, between the two snapshots
        text += f", ticks inserts p99 {p99:,.1f} ms"
    elif inserts and inserts["count"]:
        text += f", ticks inserts p99 {inserts['p99_ms']:,.1f} ms since it started"
    if writer["dead_letter_rows"]:
        text += f", {writer['dead_letter_rows']:,} rows refused (dead letters)"
    if writer["store_error"]:
        text += f", STORE DOWN: {writer['store_error'][:160]}"
    if writer.get("report_error"):
        text += f"; status file unreadable: {writer['report_error'][:160]}"
    elif writer.get("report") and writer.get("report_age_s") is None:
        text += f"; no status file yet ({writer['report']})"
    return text


def _rate(value: float | None) -> str:
    return "-/s" if value is None else f"{value:,.0f}/s"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 100 else f"{value / 60:,.0f} min"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _bytes(value: int | None) -> str:
    if value is None:
        return "? B"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return ""
