"""A panel's query rows as the page draws them: one x axis and aligned series (uPlot's data layout).

Rows are ``(t, [series name,] value, ...)``; every (series name, value column) pair becomes one series labelled
``"<name> <column>"`` (or just the column when the query has no series column). Buckets a series lacks are None
(uPlot leaves a gap). Non-finite values become None too (JSON has no NaN).
"""
from __future__ import annotations

import math

from store.panels import Panel


def aligned(panel: Panel, results: list[list[tuple]]) -> dict:
    """``{"x": [t...], "series": [{"label": ..., "values": [...]}, ...], "points": n}`` from each query's rows."""
    cells: dict[str, dict[int, float | None]] = {}
    times: set[int] = set()
    for query, rows in zip(panel.queries, results):
        for row in rows:
            t = int(row[0])
            times.add(t)
            name, values = (str(row[1]), row[2:]) if query.series else ("", row[1:])
            for column, value in zip(query.values, values):
                label = f"{name} {column}" if name else column
                cells.setdefault(label, {})[t] = _number(value)
    x = sorted(times)
    series = [{"label": label, "values": [by_time.get(t) for t in x]} for label, by_time in sorted(cells.items())]
    points = sum(v is not None for s in series for v in s["values"])
    return {"x": x, "series": series, "points": points}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
