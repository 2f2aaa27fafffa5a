"""bench e2e: the writer's inserts in the loaded window, per table, from its status report's ``inserts``
(writer/insert_times.py): how many a second, how long the store took (p50 / p99 / max) and the share of the window
the writer spent waiting for them. Tick-to-storage is a tick's wait for its batch to fill, for the insert in
progress and for its own: a writer busy near 100% inserts back to back, and its p99 follows the inserts' tail.
The writer publishes its report once a second, so each end of the window is up to a second old (the rates are
over the bench's window length: within a few per cent at 30 s).
"""
from __future__ import annotations

import json

from writer.insert_times import window


def insert_status(report_path: str) -> dict:
    """The writer's ``inserts`` as of its last report ({} when the report cannot be read)."""
    try:
        with open(report_path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        return {}
    inserts = report.get("inserts") if isinstance(report, dict) else None
    return inserts if isinstance(inserts, dict) else {}


def inserts_in_window(before: dict, after: dict, seconds: float) -> dict:
    """``window`` of two ``insert_status`` reads; {} when the later one has nothing (a writer without the report)."""
    return window(before, after, seconds) if after else {}
