"""Read the writer's status file (``<state-dir>/<group>/status.json``) as hostile input: never a crash.

The writer rewrites it every second (writer/writer.py ``_report``). Anyone who can write in the state directory
can put anything there, so the reader opens it without following links or blocking (a FIFO), refuses what is not
a regular file or is larger than ``MAX_BYTES``, and keeps only the fields it knows, each of the type it should
have (anything else becomes None); text loses its control characters (no escape sequence reaches a terminal).
"""
from __future__ import annotations

import math
import os
import re
import stat
import time

import orjson

MAX_BYTES = 4 << 20  # the writer's report is tens of KB (its 600-sample timeline): far below
MAX_TABLES = 64
TEXT_LIMIT = 300
_TABLE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def report_path(state_dir: str, group: str) -> str:
    """Where the writer of ``group`` with ``--state-dir state_dir`` publishes its status."""
    return os.path.join(state_dir, group, "status.json")


def read_report(path: str) -> tuple[dict | None, str | None]:
    """``(report, problem)``: the raw JSON object, or None and why not (None, None: no file yet)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, None
    except OSError as exc:  # ELOOP: a symbolic link; EACCES ...
        return None, f"{path}: cannot open it ({exc.strerror or exc})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{path}: not a regular file"
        if info.st_size > MAX_BYTES:
            return None, f"{path}: {info.st_size} bytes, more than a writer report ({MAX_BYTES})"
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            return None, f"{path}: grew past {MAX_BYTES} bytes while read"
        mtime_ns = info.st_mtime_ns
    except OSError as exc:
        return None, f"{path}: cannot read it ({exc.strerror or exc})"
    finally:
        os.close(fd)
    try:
        report = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        return None, f"{path}: not JSON ({str(exc)[:80]})"
    if not isinstance(report, dict):
        return None, f"{path}: not a JSON object"
    report["_age_s"] = max(0.0, (time.time_ns() - mtime_ns) / 1e9)
    return report, None


def writer_fields(report: dict | None) -> dict:
    """The snapshot's writer fields from a report (None or wrong types: None for that field)."""
    report = report or {}
    return {
        "rows_stored": _table_counts(report.get("rows_stored")),
        "spill_rows": count(report.get("spill_rows")),
        "spill_bytes": count(report.get("spill_bytes")),
        "dead_letter_rows": count(report.get("dead_letter_rows")),
        "store_up": report.get("store_up") if isinstance(report.get("store_up"), bool) else None,
        "store_error": clean_text(report.get("store_error")),
        "report_age_s": round(report["_age_s"], 3) if "_age_s" in report else None,
        "tick_inserts": tick_inserts(report.get("inserts")),
    }


def tick_inserts(value) -> dict | None:
    """The ticks table's insert times from a report's ``inserts`` (writer/insert_times.py): ``{"count", "seconds",
    "p99_ms", "buckets": [[index, count], ...]}`` since the writer started, or None when absent or not of that form."""
    times = value.get("ticks") if isinstance(value, dict) else None
    if not isinstance(times, dict):
        return None
    from shm.histogram import BUCKETS  # here: it brings NumPy, which `tickagg run`'s start gate does without

    spent, p99, pairs = times.get("seconds"), times.get("p99_ms"), times.get("buckets")
    if count(times.get("count")) is None or not all(_non_negative(v) for v in (spent, p99)) or not isinstance(pairs, list):
        return None
    if len(pairs) > BUCKETS or not all(isinstance(pair, list) and len(pair) == 2 and count(pair[1]) is not None
                                       and type(pair[0]) is int and 0 <= pair[0] < BUCKETS for pair in pairs):
        return None
    return {"count": times["count"], "seconds": float(spent), "p99_ms": float(p99), "buckets": pairs}


def _non_negative(value) -> bool:
    """A finite, non-negative number (bools are not)."""
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def count(value) -> int | None:
    """A counter: a non-negative int (bools and floats are not), else None."""
    return value if type(value) is int and 0 <= value < 1 << 63 else None


def clean_text(value, limit: int = TEXT_LIMIT) -> str | None:
    """Text without control characters, at most ``limit`` characters; None for "" or a non-string."""
    if not isinstance(value, str) or not value:
        return None
    return _CONTROL.sub("?", value[:limit])


def _table_counts(value) -> dict[str, int]:
    """``{table: rows}`` keeping only table-like names and counter values."""
    if not isinstance(value, dict):
        return {}
    tables = {}
    for table, rows in list(value.items())[:MAX_TABLES]:
        if isinstance(table, str) and _TABLE.fullmatch(table) and count(rows) is not None:
            tables[table] = rows
    return tables
