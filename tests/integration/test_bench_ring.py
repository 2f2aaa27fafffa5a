"""`tickagg bench ring --json` runs end to end and reports every figure (values are not judged here)."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest


@pytest.mark.slow
def test_bench_ring_json_has_every_figure():
    result = subprocess.run(
        [sys.executable, "-m", "tickagg.cli", "bench", "ring", "--json", "--seconds", "0.2", "--repeats", "1", "--samples", "3000"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert set(figures["ring"]) == {"1", "64", "1024"} and set(figures["mp_queue"]) == {"1", "64"}
    assert set(figures["latency_ns"]) == {"p50", "p99", "p999"}
    assert all(rate > 0 for rate in [*figures["ring"].values(), *figures["mp_queue"].values()])
    assert set(figures["ring_plain_producer"]) == {"64", "1024"} and all(r > 0 for r in figures["ring_plain_producer"].values())
    assert {kind: set(costs) for kind, costs in figures["push_ns"].items()} == {k: {"1", "64", "1024"} for k in ("kernel", "plain")}
    assert all(ns > 0 for costs in figures["push_ns"].values() for ns in costs.values())
    assert 0 < figures["latency_ns"]["p50"] <= figures["latency_ns"]["p99"] <= figures["latency_ns"]["p999"]
