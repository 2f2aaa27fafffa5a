"""The aggregator as a real process: feed rings in, output rings read back; SIGKILL and resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from feed_helpers import read_all, wait_until
from shm import segment
from shm.pipeline_records import BAR, LATENCY, SIGNAL, STAGE_TICK_TO_SIGNAL, STAMPED_TICK
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory

MINUTE = 60_000_000_000


@pytest.fixture
def group(group):
    yield group
    for name in segment.names(f"tickagg.{group}."):
        segment.remove(name)


def _aggregate(group: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tickagg.cli", "aggregate", "--group", group, "--max-symbols", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _ticks(group: str, exchange: str, n: int, start_ns: int, seed: int) -> np.ndarray:
    directory = SymbolDirectory(group)
    ids = np.array([directory.id_of(exchange, s) for s in ("AAA", "BBB")], np.uint32)
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, TICK)
    ticks["ts_exchange_ns"] = start_ns + np.sort(rng.integers(0, 3 * MINUTE, n))
    ticks["ts_recv_ns"] = time.time_ns()
    ticks["price"] = 100 + rng.normal(0, 0.1, n).cumsum()
    ticks["size"] = rng.uniform(0.1, 2, n)
    ticks["side"] = rng.choice(np.array([-1, 1], np.int8), n)
    ticks["symbol_id"] = rng.choice(ids, n)
    ticks["exchange_id"] = EXCHANGE_IDS[exchange]
    ticks["seq"] = np.arange(n)
    return ticks


def _out_ticks(group: str) -> int:
    name = ring_name(group, "out.ticks")
    if not segment.exists(name):
        return 0
    with Ring(name, MONITOR) as ring:
        return ring.head


@pytest.mark.slow
def test_aggregator_process_turns_feed_rings_into_every_output(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE  # five minutes ago: three whole minutes of bars
    inputs = {x: _ticks(group, x, 3000, start, n) for n, x in enumerate(("binance", "okx"))}
    for exchange, ticks in inputs.items():
        with Ring(ring_name(group, exchange), PRODUCER, TICK, 1 << 14) as ring:
            assert ring.push_batch(ticks) == len(ticks)
    process = _aggregate(group)
    try:
        wait_until(lambda: _out_ticks(group) >= 6000, 180, "all ticks through the aggregator")
        wait_until(lambda: segment.exists(ring_name(group, "out.latency")) and Ring(ring_name(group, "out.latency")).head > 0, 10, "latency rows")
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    stamped = read_all(group, "out.ticks", STAMPED_TICK)
    assert len(stamped) == 6000
    for exchange, ticks in inputs.items():
        mine = stamped[stamped["exchange_id"] == EXCHANGE_IDS[exchange]]
        np.testing.assert_array_equal(np.sort(mine["seq"]), ticks["seq"])
    assert (stamped["ts_pop_ns"] >= stamped["ts_recv_ns"]).all() and (stamped["ts_signal_ns"] >= stamped["ts_pop_ns"]).all()
    signals = read_all(group, "signals", SIGNAL)
    assert len(signals) == 6000 and np.isfinite(signals["ema_fast"]).all()
    bars = read_all(group, "out.bars1m", BAR)
    for exchange, ticks in inputs.items():  # every whole minute of every symbol, against numpy
        for symbol_id in np.unique(ticks["symbol_id"]):
            mine = ticks[ticks["symbol_id"] == symbol_id]
            starts = mine["ts_exchange_ns"] - mine["ts_exchange_ns"] % MINUTE
            for minute in np.unique(starts):
                sel = mine[starts == minute]
                (bar,) = bars[(bars["symbol_id"] == symbol_id) & (bars["start_ns"] == minute)]
                assert bar["count"] == len(sel) and bar["open"] == sel["price"][0] and bar["close"] == sel["price"][-1]
                assert bar["high"] == sel["price"].max() and bar["low"] == sel["price"].min()
                np.testing.assert_allclose(bar["volume"], sel["size"].sum(), rtol=1e-12)
                np.testing.assert_allclose(bar["vwap"], (sel["price"] * sel["size"]).sum() / sel["size"].sum(), rtol=1e-12)
    features = read_all(group, "out.features")
    assert len(features) == len(bars)  # one feature row per closed minute
    latency = read_all(group, "out.latency", LATENCY)
    assert (latency["stage"] == STAGE_TICK_TO_SIGNAL).any() and latency["count"].sum() > 0


@pytest.mark.fault
def test_aggregator_killed_mid_stream_resumes_from_the_ring_tail(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = _ticks(group, "binance", 200_000, start, 7)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 18)
    ring.push_batch(ticks[:100_000])
    process = _aggregate(group)
    try:
        wait_until(lambda: _out_ticks(group) > 20_000, 180, "aggregator progress")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        with Ring(ring_name(group, "binance"), MONITOR) as monitor:
            committed = monitor.tail
        first_run = read_all(group, "out.ticks", STAMPED_TICK)
        ring.push_batch(ticks[100_000:])
        process = _aggregate(group)
        wait_until(lambda: Ring(ring_name(group, "binance"), MONITOR).tail == 200_000, 120, "restarted aggregator to drain")
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        ring.close()
    second_run = read_all(group, "out.ticks", STAMPED_TICK)
    # before the kill: everything up to the tail was published, and perhaps part of the next turn; the
    # restart goes on after the last tick published (source_pos), not at the tail: each tick exactly once
    assert second_run["seq"][0] >= committed
    np.testing.assert_array_equal(np.concatenate([first_run["seq"], second_run["seq"]]), np.arange(200_000))
    np.testing.assert_array_equal(second_run["source_pos"], second_run["seq"])


@pytest.mark.fault
def test_restart_skips_ticks_published_after_the_last_commit(group):
    """The crash window made certain: out.ticks already holds ticks 0..2,999 of the ring, whose tail is 0."""
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = _ticks(group, "binance", 10_000, start, 3)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 16)
    ring.push_batch(ticks)
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 20) as out:
        published = np.zeros(3000, STAMPED_TICK)
        for name in ("seq", "ts_exchange_ns", "exchange_id", "symbol_id"):
            published[name] = ticks[name][:3000]
        published["source_pos"] = np.arange(3000)
        published["ts_pop_ns"] = time.time_ns()
        older = published[:500].copy()
        older["ts_pop_ns"] = ring.created_ns - 1  # from an older ring of the same name: ignored
        older["source_pos"] += 9000
        assert out.push_batch(np.concatenate([older, published])) == 3500
    process = _aggregate(group)
    try:
        wait_until(lambda: Ring(ring_name(group, "binance"), MONITOR).tail == 10_000, 180, "aggregator to drain")
        time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        ring.close()
    stored = read_all(group, "out.ticks", STAMPED_TICK)
    np.testing.assert_array_equal(stored["seq"][3500:], np.arange(3000, 10_000))
    assert "3000 ticks past the tail were published before a restart" in stderr
