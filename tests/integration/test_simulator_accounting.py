"""Exact accounting under backpressure, with several subscribers, pause and rate changes."""
from __future__ import annotations

import time

from simulator import start_simulator
from simulator.client import VenueClient


def test_a_client_that_does_not_read_stops_the_market_and_nothing_piles_up():
    with start_simulator(["okx"], rate="max") as sim:
        client = VenueClient("okx", sim.url("okx"), ["BTC-USDT", "ETH-USDT"])
        try:
            time.sleep(0.4)  # not reading: kernel buffers fill, then the simulator must wait
            first = sim.venue_stats("okx")
            time.sleep(0.3)
            second = sim.venue_stats("okx")
            sim.pause("okx")
            client.drain(quiet_s=0.5, limit_s=60)
            final = sim.venue_stats("okx")
        finally:
            client.close()
    assert first["trades"] == second["trades"] > 0  # blocked: nothing generated, nothing counted
    assert second["generated"] - second["trades"] <= 1024 * 5  # at most one tick's batch waits in user space
    assert second["pending_bytes"] < 2_000_000
    assert final["pending_bytes"] == 0
    assert len(client.live) == final["trades"] == final["generated"]


def test_two_subscribers_each_get_every_trade_and_each_delivery_counts():
    with start_simulator(["bitstamp"], rate=2000) as sim:
        first = VenueClient("bitstamp", sim.url("bitstamp"), ["btcusd"])
        second = VenueClient("bitstamp", sim.url("bitstamp"), ["btcusd"])
        try:
            for _ in range(6):
                first.pump(0.05)
                second.pump(0.05)
            sim.pause()
            first.drain()
            second.drain()
            stats = sim.venue_stats("bitstamp")
        finally:
            first.close()
            second.close()
    symbol = stats["symbols"]["btcusd"]
    assert len(first.live) + len(second.live) == symbol["trades"]
    assert max(len(first.live), len(second.live)) == symbol["generated"]
    late = min((first, second), key=lambda client: len(client.live))
    early = max((first, second), key=lambda client: len(client.live))
    assert [t.trade_id for t in late.live] == [t.trade_id for t in early.live][-len(late.live):]


def test_pause_stops_generation_and_rate_paces_it():
    with start_simulator(["deribit"], rate=400) as sim:
        client = VenueClient("deribit", sim.url("deribit"), ["BTC-PERPETUAL"])
        try:
            client.pump(0.2)
            start = sim.venue_stats("deribit")["generated"]
            client.pump(1.0)
            per_second = sim.venue_stats("deribit")["generated"] - start
            sim.rate("deribit", 100)
            client.pump(0.3)
            start = sim.venue_stats("deribit")["generated"]
            client.pump(1.0)
            slower = sim.venue_stats("deribit")["generated"] - start
            sim.pause("deribit")
            client.drain()
            paused = sim.venue_stats("deribit")
            client.pump(0.3)
            still = sim.venue_stats("deribit")
        finally:
            client.close()
    assert 300 < per_second < 500
    assert 60 < slower < 140
    assert paused["generated"] == still["generated"] and still["paused"]
    assert len(client.live) == still["trades"]
