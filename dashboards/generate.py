"""Writes the Grafana dashboards in this folder from the built-in page's panels (store/panels.py).

  python -m dashboards.generate            # from the repository root: rewrites both JSON files

tickagg-clickhouse.json (the grafana-clickhouse-datasource plugin) takes each
panel's SQL template as it is and fills its slots with Grafana's macros and
variables instead of the page's checked ints::

  {where}      $__dateTimeFilter(day, time)        (partition pruning by day, then the range)
               + the venue filter on tables with an exchange_id
  {step}       $__interval_s                       (at least the panel's min_step: greatest(...))
  {bucket}     intDiv(toUInt32(time), step) * step
  {symbol_id}  toUInt32OrZero('${symbol_id:percentencode}')
  {db}         the database (tickagg; --database NAME)

A variable's value can come from the dashboard URL, so it only ever enters
the SQL percent-encoded inside a string literal (no quote or backslash can
end it) and is turned into a number there: text is 0, never SQL. Each query
is wrapped to give Grafana a DateTime column: ``SELECT toDateTime(t) AS time,
<series>, <values> FROM (<the page's query>) ORDER BY time``.

tickagg-prometheus.json has the same panels in PromQL over the exporter's
metrics (tickagg/metrics_exporter.py), except the regime of one symbol: the
exporter's labels never name symbols. tests/integration/test_grafana_dashboards.py
checks that the files are what this script writes, runs every SQL on ClickHouse
18.16 and chDB, and checks every PromQL expression with promtool.
"""
from __future__ import annotations

import argparse
import json
import os
import re

from shm.records import EXCHANGE_IDS
from store.tables import BY_NAME
from store.panels import PANELS, Panel, Query

HERE = os.path.dirname(os.path.abspath(__file__))
CLICKHOUSE_FILE = os.path.join(HERE, "tickagg-clickhouse.json")
PROMETHEUS_FILE = os.path.join(HERE, "tickagg-prometheus.json")
VENUE = "toUInt16OrZero('${venue:percentencode}')"  # 0 = all venues
SYMBOL = "toUInt32OrZero('${symbol_id:percentencode}')"
UNITS = {"ms": "ms", "count": "short", "price": "short"}
ONLY_IN_CLICKHOUSE = {"regime": "per symbol: the exporter's labels never name symbols"}
# PromQL per panel: (legend, expression); latencies in ms, rates per second (rows per minute for rows_per_minute)
RATE = "[$__rate_interval]"
VENUES = 'venue=~"$venue"'


def _quantiles(stage: str, by: str, quantiles: tuple[str, ...]) -> list[tuple[str, str]]:
    selector = f'tickagg_latency_seconds_bucket{{stage="{stage}",{VENUES}}}' if stage else \
        f"tickagg_latency_seconds_bucket{{{VENUES}}}"
    label = {"0.5": "p50", "0.99": "p99", "0.999": "p999"}
    return [(f"{{{{{by}}}}} {label[q]}", f"histogram_quantile({q}, sum by (le, {by}) (rate({selector}{RATE}))) * 1000") for q in quantiles]


PROMQL: dict[str, list[tuple[str, str]]] = {
    "tick_to_signal": _quantiles("tick_to_signal", "venue", ("0.5", "0.99", "0.999")),
    "tick_to_store": _quantiles("tick_to_store", "venue", ("0.5", "0.99", "0.999")),
    "stages": _quantiles("", "stage", ("0.5", "0.99")),
    "ticks_per_second": [("{{venue}} ticks_per_s", f"sum by (venue) (rate(tickagg_ticks_total{{{VENUES}}}{RATE}))")],
    "feed_events": [
        ("{{venue}} reconnects", f"sum by (venue) (increase(tickagg_reconnects_total{{{VENUES}}}{RATE}))"),
        ("{{venue}} gap_trades", f"sum by (venue) (increase(tickagg_gaps_total{{{VENUES}}}{RATE}))"),
        ("{{venue}} ring_drops", f"sum by (venue) (increase(tickagg_drops_total{{{VENUES}}}{RATE}))"),
        ("{{venue}} parse_errors", f"sum by (venue) (increase(tickagg_parse_errors_total{{{VENUES}}}{RATE}))"),
        ("{{venue}} connections", f"sum by (venue) (tickagg_connections{{{VENUES}}})"),
    ],
    "rows_per_minute": [("{{table}}", f"sum by (table) (rate(tickagg_rows_written_total{RATE})) * 60")],
}


def panel_sql(panel: Panel, query: Query, database: str) -> str:
    """One of ``panel``'s queries for the ClickHouse plugin: Grafana macros and variables in the template's slots."""
    where = "$__dateTimeFilter(day, time)"
    if panel.venue_filter and any(c.name == "exchange_id" for c in BY_NAME[query.table].columns):
        where += f" AND ({VENUE} = 0 OR exchange_id = {VENUE})"
    step = "$__interval_s" if panel.min_step <= 1 else f"greatest($__interval_s, {panel.min_step})"
    inner = query.sql.format(db=database, where=where, step=f"({step})", bucket=f"intDiv(toUInt32(time), {step}) * {step}",
                             symbol_id=SYMBOL)
    columns = ", ".join(([query.series] if query.series else []) + list(query.values))
    return f"SELECT toDateTime(t) AS time, {columns} FROM ({inner}) ORDER BY time"


def _panel(index: int, title: str, unit: str, targets: list[dict], datasource: dict, description: str = "") -> dict:
    return {
        "id": index + 1, "type": "timeseries", "title": title, "description": description, "datasource": datasource,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": UNITS.get(unit, f"suffix: {unit}")}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "maxDataPoints": 1500, "interval": "1s", "targets": targets,
    }


def _dashboard(title: str, uid: str, inputs: list[dict], variables: list[dict], panels: list[dict], description: str) -> dict:
    return {
        "__inputs": inputs, "uid": uid, "title": title, "description": description, "tags": ["tickagg"],
        "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": True, "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"}, "templating": {"list": variables}, "panels": panels,
        "annotations": {"list": []},
    }


def _venue_variable(all_value: str) -> dict:
    options = [{"text": "All", "value": "$__all", "selected": True}] + \
        [{"text": venue, "value": venue if all_value != "0" else str(i), "selected": False}
         for venue, i in sorted(EXCHANGE_IDS.items(), key=lambda item: item[1])]
    query = ", ".join(f"{o['text']} : {o['value']}" for o in options[1:])
    return {"name": "venue", "label": "venue", "type": "custom", "query": query, "options": options,
            "current": {"text": "All", "value": "$__all"}, "includeAll": True, "allValue": all_value, "multi": False}


def clickhouse_dashboard(database: str = "tickagg") -> dict:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):  # it goes into the SQL as it is
        raise ValueError(f"bad database name {database[:40]!r}: letters, digits and _")
    datasource = {"type": "grafana-clickhouse-datasource", "uid": "${DS_CLICKHOUSE}"}
    inputs = [{"name": "DS_CLICKHOUSE", "label": "ClickHouse", "type": "datasource",
               "pluginId": "grafana-clickhouse-datasource", "pluginName": "ClickHouse"}]
    symbol = {"name": "symbol_id", "label": "symbol", "type": "query", "datasource": datasource, "refresh": 1,
              "query": f"SELECT symbol_id, concat(exchange, ':', symbol) AS label FROM {database}.symbols "  # value, text
                       "ORDER BY exchange, symbol LIMIT 100000",
              "definition": f"symbols of {database}", "includeAll": False, "multi": False}
    panels = []
    for index, panel in enumerate(PANELS.values()):
        targets = [{"refId": chr(ord("A") + i), "datasource": datasource, "editorType": "sql", "queryType": "timeSeries",
                    "rawSql": panel_sql(panel, query, database)} for i, query in enumerate(panel.queries)]
        title = panel.title + (" ($symbol_id)" if panel.needs_symbol else "")
        panels.append(_panel(index, title, panel.unit, targets, datasource))
    return _dashboard("tickagg (ClickHouse)", "tickagg-clickhouse", inputs, [_venue_variable("0"), symbol], panels,
                      "The built-in dashboard's panels over the store (store/panels.py via "
                      "dashboards/generate.py); runs on ClickHouse 18.16 and current ClickHouse")


def prometheus_dashboard() -> dict:
    datasource = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    inputs = [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus",
               "pluginName": "Prometheus"}]
    panels = []
    for panel in PANELS.values():
        if panel.name in ONLY_IN_CLICKHOUSE:
            continue
        targets = [{"refId": chr(ord("A") + i), "datasource": datasource, "expr": expr, "legendFormat": legend}
                   for i, (legend, expr) in enumerate(PROMQL[panel.name])]
        unit = "ops" if panel.name == "ticks_per_second" else panel.unit
        panels.append(_panel(len(panels), panel.title, unit, targets, datasource))
    left_out = "; ".join(f"{PANELS[name].title}: {why}" for name, why in ONLY_IN_CLICKHOUSE.items())
    return _dashboard("tickagg (Prometheus)", "tickagg-prometheus", inputs, [_venue_variable(".*")], panels,
                      f"The built-in dashboard's panels over `tickagg run --metrics-addr` (tickagg/metrics_exporter.py). "
                      f"Only in the ClickHouse dashboard: {left_out}")


def render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="tickagg", help="the store's database (default tickagg)")
    args = parser.parse_args()
    try:
        clickhouse = clickhouse_dashboard(args.database)
    except ValueError as exc:
        parser.error(f"--database: {exc}")
    for path, document in ((CLICKHOUSE_FILE, clickhouse), (PROMETHEUS_FILE, prometheus_dashboard())):
        with open(path, "w") as f:
            f.write(render(document))
        print(path)


if __name__ == "__main__":
    main()
