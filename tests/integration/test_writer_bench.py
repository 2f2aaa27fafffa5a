"""`tickagg bench writer --json` runs end to end against both stores and reports every figure (values not judged here)."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest
from stores import missing, need_chdb

from bench.clickhouse_server import server_binary


@pytest.mark.slow
def test_bench_writer_json_has_every_figure():
    if server_binary() is None:  # the bench starts its own server (a server that cannot start fails the bench)
        missing("clickhouse-server is not installed (make test installs Debian's clickhouse-server)")
    need_chdb()
    result = subprocess.run(
        [sys.executable, "-m", "tickagg.cli", "bench", "writer", "--json", "--seconds", "1", "--latency-seconds", "1",
         "--rate", "20000"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert set(figures["stores"]) == {"clickhouse", "chdb"}
    for store in figures["stores"].values():
        assert store["rows_per_s"] > 0 and store["writer_rss_mb_max"] > 0
        assert store["latency"]["rows_stored"] == store["latency"]["produced"] > 0
    assert figures["tick_to_storage_p99_ms"] > 0
