"""The dashboard's panels as named SQL, for the built-in page and for Grafana (the same text).

Every panel is one or more queries over a time range ``[from_s, to_s)`` (Unix seconds) in buckets of ``step``
seconds, chosen so a range has at most ``MAX_POINTS`` buckets (24 h -> 60 s buckets). Each query returns rows of
``t`` (bucket start, Unix seconds), then the series column when the panel has one (a venue, a stage), then its
value columns. The SQL runs on ClickHouse 18.16 (no DateTime64, window functions or newer functions) and on
current ClickHouse / chDB: it reads each table's ``time`` column (a DateTime ALIAS on both, store/tables.py) and
prunes partitions by ``day``.

Parameters are never text in the SQL: the range and step are ints, a venue is checked against the fixed
``EXCHANGE_IDS`` and goes in as its id, a symbol goes in as its ``symbol_id`` (an int, which the caller checks
against the store's ``symbols``). ``render(panel, params, database)`` is the only way to a statement;
``Params.parse`` turns untrusted query-string values into ``Params`` or raises ``BadParameter``.
"""
from __future__ import annotations

import dataclasses
import re

from shm.pipeline_records import (EVENT_CONNECT, EVENT_DISCONNECT, EVENT_GAP, EVENT_PARSE_ERROR,
                                  EVENT_RECONNECT_DELAY, EVENT_RING_DROP, STAGE_RECV_TO_POP, STAGE_TICK_TO_SIGNAL,
                                  STAGE_TICK_TO_STORE)
from shm.records import EXCHANGE_IDS

MAX_POINTS = 1500
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)  # bucket sizes, seconds
RANGES = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)  # the page's choices, seconds
MIN_RANGE_S, MAX_RANGE_S = 60, 7 * 24 * 3600
MAX_TIME_S = (1 << 32) - 1  # DateTime is UInt32 seconds: toDateTime of anything later wraps round
NS_TO_MS = 1e-6


class BadParameter(ValueError):
    """A request parameter that is missing, malformed or out of range (the message says which)."""


@dataclasses.dataclass(frozen=True)
class Query:
    sql: str  # a template: {db} {where} {bucket} {step} and the panel's own ({symbol_id}, {stage}, ...)
    series: str | None  # the column that names a series (exchange, stage_name), or None
    values: tuple[str, ...]  # value columns, in order after t (and the series column)
    table: str = "latency"  # the table {where} filters (by its time column and day partition)


@dataclasses.dataclass(frozen=True)
class Panel:
    name: str
    title: str
    unit: str
    queries: tuple[Query, ...]
    min_step: int = 1  # per-minute panels bucket by 60 s at least
    needs_symbol: bool = False
    venue_filter: bool = True  # the queries take ?exchange= (WHERE exchange_id = id); else it is ignored


@dataclasses.dataclass(frozen=True)
class Params:
    from_s: int
    to_s: int
    exchange_id: int | None = None
    symbol_id: int | None = None

    @property
    def range_s(self) -> int:
        return self.to_s - self.from_s

    @classmethod
    def parse(cls, values: dict[str, str], now_s: int) -> "Params":
        """From query-string values (``range`` seconds back from ``now_s`` or ``to``; ``exchange``; ``symbol_id``)."""
        unknown = sorted(set(values) - {"range", "to", "exchange", "symbol_id"})
        if unknown:
            raise BadParameter(f"unknown parameter {unknown[0]!r}: use range, to, exchange, symbol_id")
        range_s = _int(values.get("range", "300"), "range", MIN_RANGE_S, MAX_RANGE_S)
        to_s = _int(values["to"], "to", range_s, MAX_TIME_S) if "to" in values else now_s
        exchange = values.get("exchange")
        if exchange is not None and exchange not in EXCHANGE_IDS:
            raise BadParameter(f"unknown exchange {exchange[:40]!r}: one of {', '.join(sorted(EXCHANGE_IDS))}")
        symbol_id = _int(values["symbol_id"], "symbol_id", 0, (1 << 32) - 1) if "symbol_id" in values else None
        return cls(to_s - range_s, to_s, EXCHANGE_IDS[exchange] if exchange else None, symbol_id)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, document) -> "Params":
        """Params sent by the dashboard to the writer (writer/dashboard_socket.py): checked again, field by field."""
        if not isinstance(document, dict) or set(document) - {"from_s", "to_s", "exchange_id", "symbol_id"}:
            raise BadParameter("params: an object with from_s, to_s, exchange_id, symbol_id")
        def number(key, low, high, optional=False):
            value = document.get(key)
            if value is None and optional:
                return None
            if type(value) is not int or not low <= value <= high:
                raise BadParameter(f"params.{key}: an integer from {low} to {high}")
            return value
        params = cls(number("from_s", 0, MAX_TIME_S), number("to_s", 1, MAX_TIME_S),
                     number("exchange_id", 0, 65535, True), number("symbol_id", 0, (1 << 32) - 1, True))
        if not MIN_RANGE_S <= params.range_s <= MAX_RANGE_S:
            raise BadParameter(f"params: the range must be {MIN_RANGE_S} to {MAX_RANGE_S} s")
        return params


def _int(text: str, name: str, low: int, high: int) -> int:
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,12}", text):
        raise BadParameter(f"{name}: a whole number, got {str(text)[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise BadParameter(f"{name}: {value} is not within {low} to {high}")
    return value


def step_for(range_s: int, min_step: int = 1) -> int:
    """The smallest bucket in STEPS that keeps ``range_s`` within MAX_POINTS buckets (at least ``min_step``)."""
    for step in STEPS:
        if step >= min_step and range_s / step <= MAX_POINTS:
            return step
    return STEPS[-1]


def _latency(stage: int) -> Query:
    """One stage's p50 / p99 / p99.9 / max per venue, ms: per bucket, the median second's p50 and the worst second's
    other quantiles."""
    return Query(
        "SELECT t, exchange, p50, p99, p999, max FROM (SELECT {bucket} AS t, exchange_id, "
        "quantile(0.5)(p50) * 1e-6 AS p50, max(p99) * 1e-6 AS p99, max(p999) * 1e-6 AS p999, max(max) * 1e-6 AS max "
        f"FROM {{db}}.latency WHERE stage = {stage} AND count > 0 AND {{where}} GROUP BY t, exchange_id) AS buckets "
        "ANY LEFT JOIN (SELECT exchange_id, exchange FROM {db}.exchanges) AS names USING exchange_id ORDER BY t",
        "exchange", ("p50", "p99", "p999", "max"))


def _rows_per_minute(table: str) -> Query:
    return Query(f"SELECT {{bucket}} AS t, toFloat64(count()) * 60 / {{step}} AS {table} FROM {{db}}.{table} "
                 "WHERE {where} GROUP BY t ORDER BY t", None, (table,), table)


PANELS: dict[str, Panel] = {panel.name: panel for panel in (
    Panel("tick_to_signal", "Tick to signal, per venue", "ms", (_latency(STAGE_TICK_TO_SIGNAL),)),
    Panel("tick_to_store", "Tick to storage, per venue", "ms", (_latency(STAGE_TICK_TO_STORE),)),
    Panel("stages", "Latency per stage (p50 and worst p99 over venues)", "ms", (Query(
        "SELECT t, stage_name, p50, p99 FROM (SELECT {bucket} AS t, stage, quantile(0.5)(p50) * 1e-6 AS p50, "
        "max(p99) * 1e-6 AS p99 FROM {db}.latency WHERE count > 0 AND {where} GROUP BY t, stage) AS buckets "
        "ANY LEFT JOIN (SELECT stage, name AS stage_name FROM {db}.latency_stages) AS names USING stage ORDER BY t",
        "stage_name", ("p50", "p99")),)),
    # every tick the aggregator pops is counted once in stage recv_to_pop's row of its second and venue
    Panel("ticks_per_second", "Ticks/s per venue", "ticks/s", (Query(
        "SELECT t, exchange, ticks_per_s FROM (SELECT {bucket} AS t, exchange_id, "
        f"toFloat64(sum(count)) / {{step}} AS ticks_per_s FROM {{db}}.latency WHERE stage = {STAGE_RECV_TO_POP} "
        "AND {where} GROUP BY t, exchange_id) AS buckets "
        "ANY LEFT JOIN (SELECT exchange_id, exchange FROM {db}.exchanges) AS names USING exchange_id ORDER BY t",
        "exchange", ("ticks_per_s",)),)),
    Panel("feed_events", "Feed events: connects, disconnects, reconnect waits, gaps, ring drops, parse errors", "count",
          (Query(f"SELECT {{bucket}} AS t, toFloat64(countIf(kind = {EVENT_CONNECT})) AS connects, "
                 f"toFloat64(countIf(kind = {EVENT_DISCONNECT})) AS disconnects, "
                 f"toFloat64(countIf(kind = {EVENT_RECONNECT_DELAY})) AS reconnect_waits, "
                 f"toFloat64(sumIf(value, kind = {EVENT_GAP})) AS gap_trades, "
                 f"toFloat64(sumIf(value, kind = {EVENT_RING_DROP})) AS ring_drops, "
                 f"toFloat64(countIf(kind = {EVENT_PARSE_ERROR})) AS parse_errors "
                 "FROM {db}.events WHERE {where} GROUP BY t ORDER BY t", None,
                 ("connects", "disconnects", "reconnect_waits", "gap_trades", "ring_drops", "parse_errors"), "events"),)),
    Panel("rows_per_minute", "Bars and feature rows stored per minute", "rows/min",
          tuple(_rows_per_minute(t) for t in ("bars_1s", "bars_1m", "features", "regime")), min_step=60,
          venue_filter=False),  # bars and features name a symbol, not a venue
    Panel("regime", "Regime of a symbol (0 calm, 1 normal, 2 turbulent) and its price", "price", (
        Query("SELECT {bucket} AS t, argMax(close, start_ns) AS price FROM {db}.bars_1s "
              "WHERE symbol_id = {symbol_id} AND {where} GROUP BY t ORDER BY t", None, ("price",), "bars_1s"),
        Query("SELECT {bucket} AS t, toFloat64(argMax(regime, start_ns)) AS regime FROM {db}.regime "
              "WHERE symbol_id = {symbol_id} AND {where} GROUP BY t ORDER BY t", None, ("regime",), "regime"),
    ), needs_symbol=True, venue_filter=False),
)}

SYMBOLS_SQL = ("SELECT symbol_id, exchange, symbol FROM {db}.symbols ORDER BY exchange, symbol LIMIT 100000")


def render(panel: Panel, params: Params, database: str) -> list[str]:
    """The panel's statements for ``params`` (every value an int by now)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise BadParameter(f"bad database name {database[:40]!r}")
    if panel.needs_symbol and params.symbol_id is None:
        raise BadParameter(f"panel {panel.name} needs symbol_id")
    step = step_for(params.range_s, panel.min_step)
    from_s, to_s = int(params.from_s) // step * step, int(params.to_s)
    statements = []
    for query in panel.queries:
        where = (f"day >= toDate(toDateTime({from_s}), 'UTC') AND day <= toDate(toDateTime({to_s}), 'UTC') "
                 f"AND time >= toDateTime({from_s}) AND time < toDateTime({to_s})")
        if panel.venue_filter and params.exchange_id is not None:
            where += f" AND exchange_id = {int(params.exchange_id)}"
        statements.append(query.sql.format(db=database, where=where, step=step, bucket=f"intDiv(toUInt32(time), {step}) * {step}",
                                           symbol_id=int(params.symbol_id or 0)))
    return statements

