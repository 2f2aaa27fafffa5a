"""Coinbase Advanced Trade feed over real connections: dropped connections (the snapshot on resubscribe
overlaps what the feed has: duplicates, never double ticks) and a quiet market kept open by heartbeats."""
from __future__ import annotations

import time

import pytest

from feed_helpers import metrics, settle, start_feed, stop_feed, wait_until
from shm import segment
from simulator.handle import start_simulator
from simulator.venues import coinbase_advanced as simulated


@pytest.fixture
def group(group):
    yield group
    for name in segment.names(f"tickagg.{group}."):
        segment.remove(name)


def _run(group, extra=(), heartbeat_scale=1.0):
    sim = start_simulator(["coinbase"], rate=500, heartbeat_scale=heartbeat_scale)
    symbols = list(sim.venue_stats("coinbase")["symbols"])
    feed = start_feed("coinbase", sim.url("coinbase") + "/advanced-trade", group, symbols, *extra)
    wait_until(lambda: metrics(group, "coinbase")["ticks"] > 50, 60, "first ticks")
    return sim, feed, symbols


@pytest.mark.fault
def test_dropped_connections_reconnect_and_lose_nothing(group):
    sim, feed, symbols = _run(group)
    try:
        for _ in range(3):
            before = metrics(group, "coinbase")["connects"]
            sim.fault("coinbase", "drop")
            wait_until(lambda: metrics(group, "coinbase")["connects"] > before, 20, "reconnect")
            ticks_then = metrics(group, "coinbase")["ticks"]
            wait_until(lambda: metrics(group, "coinbase")["ticks"] > ticks_then, 20, "ticks after reconnect")
        sent, counters = settle(sim, group, "coinbase")
    finally:
        log = stop_feed(feed)
        sim.stop()
    assert counters["ticks"] == sent["trades"], log[-2000:]
    assert counters["connects"] == 4 and counters["reconnects"] == 3
    assert counters["replayed"] == 4 * 5 * len(symbols)  # a snapshot per product per connection
    assert counters["errors"] == 0 and counters["gaps"] == 0


@pytest.mark.fault
def test_a_quiet_market_keeps_its_connection_and_channel(group):
    """No trades for longer than the stale limit and than the venue's idle-channel close (scaled to 1.5 s; heartbeats
    every 20 ms): one connection, and trades flow again on it (a channel closed for idleness would send none)."""
    sim, feed, _ = _run(group, extra=("--stale-after", "1.0"), heartbeat_scale=0.02)
    try:
        sim.pause("coinbase")
        time.sleep(2 * simulated.IDLE_CLOSE_S * 0.02)
        sim.resume("coinbase")
        ticks_then = metrics(group, "coinbase")["ticks"]
        wait_until(lambda: metrics(group, "coinbase")["ticks"] > ticks_then + 50, 20, "ticks after the pause")
        counters = metrics(group, "coinbase")
    finally:
        stop_feed(feed)
        sim.stop()
    assert counters["connects"] == 1 and counters["stale_reconnects"] == 0
