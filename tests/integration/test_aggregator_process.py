"""The aggregator as a real process: feed rings in, output rings read back (SIGKILL: tests/fault/test_aggregator_kills.py)."""
from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from aggregator_helpers import MINUTE, feed_ticks, out_ticks_published, start_aggregator
from feed_helpers import read_all, wait_until
from shm import segment
from shm.pipeline_records import BAR, LATENCY, SIGNAL, STAGE_TICK_TO_SIGNAL, STAMPED_TICK
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import PRODUCER, Ring, ring_name


@pytest.mark.slow
def test_aggregator_process_turns_feed_rings_into_every_output(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE  # five minutes ago: three whole minutes of bars
    inputs = {x: feed_ticks(group, x, 3000, start, n) for n, x in enumerate(("binance", "okx"))}
    for exchange, ticks in inputs.items():
        with Ring(ring_name(group, exchange), PRODUCER, TICK, 1 << 14) as ring:
            assert ring.push_batch(ticks) == len(ticks)
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) >= 6000, 180, "all ticks through the aggregator")
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
        # each tick carries its own ring's position (seq = position here)
        np.testing.assert_array_equal(mine["source_pos"], mine["seq"])
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
