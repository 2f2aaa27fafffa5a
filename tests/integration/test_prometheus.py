"""Prometheus /metrics of a running group, scraped by a real Prometheus server: `tickagg run --metrics-addr`
(one small group against the simulator into chDB, shared by this module's tests) and `tickagg status --serve`."""
from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from prometheus_server import Prometheus
from stores import need_chdb

from shm import segment
from shm.names import group_segments

ADDRESS = re.compile(r"metrics .*on http://(127\.0\.0\.1:\d+)/metrics")


def _started(process: subprocess.Popen, log_path, within_s: float = 60.0) -> str:
    """The address a starting tickagg process says it serves metrics on (it prints it once listening)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and process.poll() is None:
        found = ADDRESS.search(log_path.read_text())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no metrics address: {log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(10)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """(group, metrics address, data dir) of `tickagg run --simulate` on one venue, stored into chDB."""
    need_chdb()
    group = f"t{os.getpid()}p{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("prometheus")
    log_path = root / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tickagg.cli", "run", "--simulate", "--exchanges", "binance", "--rate", "300",
             "--group", group, "--data-dir", str(root / "data"), "--store", f"chdb://{root / 'store'}",
             "--metrics-addr", "127.0.0.1:0", "--status-every", "60"], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield group, _started(process, log_path), root
    finally:
        _stop(process)
        for name in group_segments(group):
            segment.remove(name)


def test_prometheus_scrapes_ticks_and_microsecond_latency_quantiles(running, tmp_path):
    group, address, _ = running
    prometheus = Prometheus(tmp_path / "prometheus", [address])
    try:
        ticks = prometheus.wait_for('tickagg_ticks_total{venue="binance"} > 0', within_s=60)
        assert ticks and ticks[0]["metric"]["job"] == "tickagg", ticks
        p99 = prometheus.wait_for(
            'histogram_quantile(0.99, rate(tickagg_latency_seconds_bucket{stage="tick_to_signal"}[10s])) > 0',
            within_s=30)
        assert [series["metric"].get("venue") for series in p99] == ["binance"], p99
        assert 1e-6 <= float(p99[0]["value"][1]) < 10 and math.isfinite(float(p99[0]["value"][1]))
        stored = prometheus.wait_for('tickagg_rows_written_total{table="ticks"} > 0', within_s=30)
        assert stored, prometheus.query("tickagg_rows_written_total")
        store_latency = prometheus.wait_for('tickagg_latency_seconds_count{stage="tick_to_store",venue="binance"} > 0',
                                            within_s=30)
        assert store_latency, prometheus.query("tickagg_latency_seconds_count")
        assert prometheus.query('count({__name__=~"tickagg_.*", symbol!=""})') == []  # never per symbol
    finally:
        prometheus.kill()


def test_status_serve_answers_a_scrape_and_stops_on_sigterm(running, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    group, _, root = running
    log_path = tmp_path / "status.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "status", group, "--state-dir",
                                    str(root / "data" / "writer"), "--serve", "127.0.0.1:0"],
                                   stdout=log, stderr=subprocess.STDOUT)
    def scrape() -> tuple[str, list]:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        return text, [s for family in text_string_to_metric_families(text) for s in family.samples]

    def complete(samples: list) -> bool:  # the group (started by the fixture) has ticks, stored rows and both stages
        ticks = [s.value for s in samples if s.name == "tickagg_ticks_total" and s.labels == {"venue": "binance"}]
        stored = [s for s in samples if s.name == "tickagg_rows_written_total" and s.labels["table"] == "ticks"]
        stages = {s.labels["stage"] for s in samples if s.name == "tickagg_latency_seconds_count"}
        return bool(ticks and ticks[0] > 0 and stored and stages >= {"tick_to_signal", "tick_to_store"})

    try:
        address = _started(process, log_path)
        deadline = time.monotonic() + 90  # a scrape answers at once; the group may still be starting (run alone)
        text, samples = scrape()
        while not complete(samples) and time.monotonic() < deadline:
            time.sleep(0.5)
            text, samples = scrape()
    finally:
        status = _stop(process)
    assert complete(samples), text[:3000]
    assert status == 0, log_path.read_text()
