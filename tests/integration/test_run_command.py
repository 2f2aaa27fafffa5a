"""`tickagg run`, the main job: the whole group against the simulator into chDB, and its exit status."""
from __future__ import annotations

import re
import subprocess
import sys
import time

import numpy as np
import orjson
import pytest
from stores import need_chdb

from store.tables import TICKS
from bench.writer_command import make_ticks
from shm.layouts import layout_of
from shm.ring import PRODUCER, Ring, ring_name


def tickagg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=timeout)


def _final(stdout: str) -> tuple[int, int, int]:
    """(received, aggregated, stored) from the final status line."""
    line = next(line for line in stdout.splitlines() if line.startswith("final:"))
    numbers = re.search(r"([\d,]+) ticks received.*?([\d,]+) aggregated, ([\d,]+) stored", line)
    assert numbers, line
    return tuple(int(n.replace(",", "")) for n in numbers.groups())


@pytest.mark.slow
def test_run_stores_every_simulated_tick(group, tmp_path):
    need_chdb()
    store = f"chdb://{tmp_path / 'store'}"
    result = tickagg("run", "--simulate", "--exchanges", "binance,coinbase,bitmex", "--rate", "300", "--seconds", "8",
                     "--group", group, "--data-dir", str(tmp_path / "data"), "--store", store, "--status-every", "3")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    received, aggregated, stored = _final(result.stdout)
    assert received > 1000 and received == aggregated == stored, result.stdout[-2000:]
    query = tickagg("query", "SELECT exchange_id, count(), uniqExact(trade_id, trade_uuid) FROM tickagg.ticks "
                    "GROUP BY exchange_id ORDER BY exchange_id", "--store", store, "--json")
    assert query.returncode == 0, query.stderr
    rows = orjson.loads(query.stdout)["rows"]
    counts = {int(exchange): (int(count), int(unique)) for exchange, count, unique in rows}
    assert set(counts) == {1, 3, 10}  # binance, coinbase, bitmex
    assert sum(c for c, _ in counts.values()) == stored
    assert all(count == unique for count, unique in counts.values())  # no tick stored twice


@pytest.mark.slow
def test_run_fails_loudly_when_a_process_keeps_failing(group, tmp_path):
    other = np.dtype([("ts", "<i8"), ("value", "<f8")])
    with Ring(ring_name(group, "binance"), PRODUCER, other, 64) as ring:  # another release's ring, records unread
        ring.push_batch(np.zeros(3, other))
    result = tickagg("run", "--simulate", "--exchanges", "binance", "--no-writer", "--seconds", "12",
                     "--group", group, "--data-dir", str(tmp_path / "data"), "--status-every", "5")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "tickagg run: feed-binance " in result.stderr and "feed-binance.log" in result.stderr
    assert "aggregate" not in result.stderr  # the aggregator skips the ring it cannot read and stays up
    log = (tmp_path / "data" / "logs" / "feed-binance.log").read_text()
    assert "3 records no consumer has read" in log


@pytest.mark.slow
def test_run_takes_over_an_earlier_releases_out_ticks_with_rows_in_flight(group, tmp_path):
    need_chdb()
    (earlier,) = layout_of(TICKS.dtype).earlier  # out.ticks records of the release before trade_id_lo
    stamped = make_ticks(10**9, 2000, time.time_ns())
    left = np.zeros(len(stamped), earlier)
    for name in earlier.names:
        left[name] = stamped[name]
    with Ring(ring_name(group, "out.ticks"), PRODUCER, earlier, 1 << 16) as ring:  # not yet stored when it stopped
        ring.push_batch(left)
    store = f"chdb://{tmp_path / 'store'}"
    result = tickagg("run", "--simulate", "--exchanges", "binance", "--rate", "300", "--seconds", "30",
                     "--group", group, "--data-dir", str(tmp_path / "data"), "--store", store, "--status-every", "5")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    received, aggregated, stored = _final(result.stdout)
    assert received > 1000 and received == aggregated and stored == aggregated + len(left), result.stdout[-2000:]
    query = tickagg("query", "SELECT count(), countIf(seq >= 1000000000) FROM tickagg.ticks", "--store", store, "--json")
    assert orjson.loads(query.stdout)["rows"] == [[stored, len(left)]], query.stdout + query.stderr
