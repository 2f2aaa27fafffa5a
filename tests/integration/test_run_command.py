"""`tickagg run`, the main job: the whole group against the simulator into chDB, and its exit status.

The storing runs are stopped (SIGTERM) once their status lines show the ticks flowing into the store
(tests/support/group_run.py), not after a fixed --seconds that a slow start on a loaded machine can eat up."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import orjson
import pytest
from group_run import GroupRun
from stores import need_chdb

from store.tables import TICKS
from bench.writer_command import make_ticks
from shm.layouts import layout_of
from shm.ring import PRODUCER, Ring, ring_name


def tickagg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_run_stores_every_simulated_tick(group, tmp_path):
    need_chdb()
    store = f"chdb://{tmp_path / 'store'}"
    run = GroupRun("--simulate", "--exchanges", "binance,coinbase,bitmex", "--rate", "300", "--group", group,
                   "--data-dir", str(tmp_path / "data"), "--store", store)
    try:  # every feed up and thousands of ticks through to the store: enough to stop
        run.wait_for(lambda s: s.connected == 3 and s.received > 2000 and s.stored > 1000)
    finally:
        done = run.stop()
    done.assert_no_restarts()
    received, aggregated, stored = done.final.received, done.final.aggregated, done.final.stored
    assert received > 2000 and received == aggregated == stored, done.stdout[-2000:]
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
    run = GroupRun("--simulate", "--exchanges", "binance", "--rate", "300", "--group", group,
                   "--data-dir", str(tmp_path / "data"), "--store", store)
    try:  # the earlier rows stored, the new ring made, ticks flowing through it, and the group settled (the
        # aggregator may have exited, finding the old ring not yet drained, and been restarted: up STABLE_S since)
        run.wait_for(lambda s: s.received > 1000 and s.stored > len(left) + 500 and not s.looping)
    finally:
        done = run.stop()
    done.assert_settled()
    received, aggregated, stored = done.final.received, done.final.aggregated, done.final.stored
    assert received > 1000 and received == aggregated and stored == aggregated + len(left), done.stdout[-2000:]
    query = tickagg("query", "SELECT count(), countIf(seq >= 1000000000) FROM tickagg.ticks", "--store", store, "--json")
    assert orjson.loads(query.stdout)["rows"] == [[stored, len(left)]], query.stdout + query.stderr
