"""`tickagg bench fanin --rate R --busy-poll`: the aggregator the bench starts spins instead of napping (the lowest
latency for a whole core), and says so; the default run is the deployed aggregator, napping while quiet."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest


@pytest.mark.slow
def test_busy_poll_reaches_the_aggregator():
    result = subprocess.run([sys.executable, "-m", "tickagg.cli", "bench", "fanin", "--rate", "20000", "--seconds", "2",
                             "--busy-poll", "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert figures["aggregator_busy_poll"] is True
    assert figures["ticks_per_s"] > 0 and figures["dropped_in_tick_rings"] == 0
    # spinning for the whole window: most of a core even at 20k ticks/s (napping, the same load takes ~5-20%)
    assert figures["aggregator_cpu_pct"] > 60.0, figures
