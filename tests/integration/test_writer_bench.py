"""`tickagg bench writer --json` runs end to end against both stores and reports every figure (values not judged here).
It is given the session's ClickHouse server (``--clickhouse-url``) instead of starting its own: the bench's private
server is bench/clickhouse_server.py's LocalServer, which that session server and `bench e2e`'s test start too."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest
from stores import need_chdb


@pytest.mark.slow
def test_bench_writer_json_has_every_figure(clickhouse_server):
    need_chdb()
    result = subprocess.run(
        [sys.executable, "-m", "tickagg.cli", "bench", "writer", "--json", "--seconds", "1", "--latency-seconds", "1",
         "--rate", "20000", "--clickhouse-url", clickhouse_server.url(database="unused")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert set(figures["stores"]) == {"clickhouse", "chdb"}
    for store in figures["stores"].values():
        assert store["rows_per_s"] > 0 and store["writer_rss_mb_max"] > 0
        assert store["latency"]["rows_stored"] == store["latency"]["produced"] > 0
    assert figures["tick_to_storage_p99_ms"] > 0
