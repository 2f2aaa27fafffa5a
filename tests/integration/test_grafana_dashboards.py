"""The Grafana dashboards in dashboards/: what dashboards/generate.py writes; every ClickHouse panel query, with
Grafana's macros and variables expanded as the plugin and Grafana do, runs on ClickHouse 18.16 and chDB over a few
rows; every Prometheus expression parses (promtool) and names only metrics the exporter defines."""
from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from urllib.parse import quote

import numpy as np
import pytest

from dashboard_rows import EXCHANGE_ID, NOW_S, SYMBOL_ID, sample_store  # noqa: F401 (sample_store: a fixture)
from dashboards import generate
from stores import missing
from tickagg import metrics_exporter
from store.panels import PANELS

FROM_S = NOW_S - 3600
HOSTILE = "1') OR 1=1 --\\"


def expand(sql: str, interval_s: int = 10, venue: str = "0", symbol_id: str = str(SYMBOL_ID)) -> str:
    """What reaches ClickHouse: Grafana's variables (percentencode: every byte but [A-Za-z0-9_.~-] as %XX) and the
    plugin's macros ($__dateTimeFilter, $__interval_s) for the last hour."""
    day = lambda s: datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%d")  # noqa: E731
    sql = sql.replace("${venue:percentencode}", quote(venue, safe="")).replace(
        "${symbol_id:percentencode}", quote(symbol_id, safe=""))
    sql = sql.replace("$__dateTimeFilter(day, time)",
                      f"(day >= toDate('{day(FROM_S)}') AND day <= toDate('{day(NOW_S)}')) AND "
                      f"(time >= toDateTime({FROM_S}) AND time <= toDateTime({NOW_S}))")
    sql = sql.replace("$__interval_s", str(max(interval_s, 1)))
    assert "$" not in sql, sql
    return sql


def panel_rows(store, name: str, **variables) -> list[tuple[list[str], list[tuple]]]:
    targets = next(p for p in generate.clickhouse_dashboard(store.database)["panels"]
                   if p["title"].startswith(PANELS[name].title))["targets"]
    return [store.query(expand(target["rawSql"], **variables)) for target in targets]


def test_the_files_are_what_the_generator_writes():
    for path, document in ((generate.CLICKHOUSE_FILE, generate.clickhouse_dashboard()),
                           (generate.PROMETHEUS_FILE, generate.prometheus_dashboard())):
        with open(path) as f:
            assert f.read() == generate.render(document), f"{path}: run python -m dashboards.generate"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_every_clickhouse_panel_runs_and_reads_the_sample_rows(sample_store, name):
    for query, (columns, rows) in zip(PANELS[name].queries, panel_rows(sample_store, name)):
        assert columns == ["time", *([query.series] if query.series else []), *query.values]
        assert rows, (name, query.values)
        assert all(isinstance(row[-1], (int, float)) for row in rows)


def test_latency_values_and_venue_names(sample_store):
    (columns, rows), = panel_rows(sample_store, "tick_to_signal")
    assert {row[1] for row in rows} == {"binance"}
    assert {row[2:] for row in rows} == {(1.0, 3.0, 4.0, 5.0)}  # p50, p99, p999, max in ms


def test_the_venue_variable_filters_and_hostile_values_are_numbers_not_sql(sample_store):
    assert panel_rows(sample_store, "tick_to_store", venue=str(EXCHANGE_ID))[0][1]
    assert panel_rows(sample_store, "tick_to_store", venue=str(EXCHANGE_ID + 1))[0][1] == []
    everything = panel_rows(sample_store, "tick_to_store")[0][1]
    assert panel_rows(sample_store, "tick_to_store", venue=HOSTILE)[0][1] == everything  # text is 0: all venues
    assert [rows for _, rows in panel_rows(sample_store, "regime", symbol_id=HOSTILE)] == [[], []]  # symbol 0


def test_the_symbol_variable_lists_the_stores_symbols(sample_store):
    variable = next(v for v in generate.clickhouse_dashboard(sample_store.database)["templating"]["list"]
                    if v["name"] == "symbol_id")
    assert [tuple(row) for row in sample_store.execute(variable["query"])] == [(SYMBOL_ID, "binance:BTCUSDT")]


def test_a_minute_panel_buckets_by_a_minute_at_least(sample_store):
    for columns, rows in panel_rows(sample_store, "rows_per_minute", interval_s=1):
        assert rows and all(str(row[0]).endswith(":00") for row in rows), rows  # a DateTime, or its text from chDB


def exporter_metric_names() -> set[str]:
    """Every sample name the exporter can expose (counters as _total, histograms as _bucket/_sum/_count)."""
    families = [*metrics_exporter.venue_families({}), *metrics_exporter.pipeline_families({}),
                metrics_exporter.latency_family(np.zeros((1, 1, 1), np.int64))]
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    return {family.name + suffix for family in families for suffix in suffixes[family.type]}


def test_prometheus_panels_match_the_page_and_use_only_exported_metrics():
    document = json.loads(open(generate.PROMETHEUS_FILE).read())
    titles = [panel["title"] for panel in document["panels"]]
    assert titles == [p.title for p in PANELS.values() if p.name not in generate.ONLY_IN_CLICKHOUSE]
    names = exporter_metric_names()
    for panel in document["panels"]:
        assert panel["type"] == "timeseries" and panel["datasource"]["type"] == "prometheus" and panel["targets"]
        for target in panel["targets"]:
            used = set(re.findall(r"\b(tickagg_[a-z_]+)\b", target["expr"]))
            assert used and used <= names, (panel["title"], used - names)
    assert {v["name"] for v in document["templating"]["list"]} == {"venue"}


def test_every_prometheus_expression_parses(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        missing("promtool is not installed (make test installs Debian's prometheus)")
    document = json.loads(open(generate.PROMETHEUS_FILE).read())
    exprs = [t["expr"].replace("$__rate_interval", "1m").replace("$venue", ".*")
             for panel in document["panels"] for t in panel["targets"]]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"tickagg:panel{i}", "expr": e}
                                                         for i, e in enumerate(exprs)]}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules))  # YAML is a superset of JSON
    done = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.json")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (venue"}]}]}))
    assert subprocess.run([promtool, "check", "rules", str(bad)], capture_output=True, timeout=60).returncode != 0
