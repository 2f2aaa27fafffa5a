"""`tickagg bench writer --json` runs end to end against both stores and reports every figure (values not judged here).

The latency run goes at ``--batch-ms 30``: the entry names the batch age it ran with (the store's default without
the option: tests/unit/test_bench_e2e_parts.py ``writer_batch_ms``) and the writer's CPU share meanwhile."""
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
         "--rate", "20000", "--batch-ms", "30"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert set(figures["stores"]) == {"clickhouse", "chdb"}
    for store in figures["stores"].values():
        assert store["rows_per_s"] > 0 and store["writer_rss_mb_max"] > 0
        assert store["latency"]["rows_stored"] == store["latency"]["produced"] > 0
        assert store["latency"]["batch_ms"] == 30.0
        assert 0.0 < store["latency"]["writer_cpu_pct"] < 250.0
    assert figures["tick_to_storage_p99_ms"] > 0
