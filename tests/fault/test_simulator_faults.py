"""Each fault, as a client sees it, with the accounting still exact afterwards."""
from __future__ import annotations

import socket
import time
from collections import defaultdict

import pytest
import websocket

from simulator.client import VenueClient
from feeds.venues import VENUES


pytestmark = pytest.mark.simulator("all", rate=1000, heartbeat_scale=0.1)


def connect(sim, venue: str) -> VenueClient:
    return VenueClient(venue, sim.url(venue), list(VENUES[venue].DEFAULT_SYMBOLS))


def settle(sim, venue: str, client: VenueClient) -> dict:
    """Pause the venue, read everything in flight, return its stats."""
    sim.pause(venue)
    client.drain()
    stats = sim.venue_stats(venue)
    sim.resume(venue)
    return stats


def test_drop_at_full_speed_counts_exactly_what_reached_the_socket(sim):
    """Unpaced, the client falls behind and the last batch is half-written when the
    connection drops: frames not wholly written are neither received nor counted."""
    before = sim.venue_stats("binance")
    sim.rate("binance", "max")
    client = connect(sim, "binance")
    try:
        client.pump(0.3)
        sim.fault("binance", "drop")
        client.pump(30.0)  # to the end of the stream
    finally:
        sim.rate("binance", 1000)
        client.close()
    after = sim.venue_stats("binance")
    assert client.closed is not None and client.close_code is None  # TCP closed, no close frame
    assert not client.errors
    assert len(client.live) == after["trades"] - before["trades"] > 1000
    assert after["generated"] - before["generated"] >= len(client.live)
    assert after["faults"]["drop"] == before["faults"].get("drop", 0) + 1


def test_stall_sends_nothing_then_resumes_on_the_same_socket(sim):
    client = connect(sim, "kraken")  # heartbeats every 0.1 s here: a stall must silence them too
    try:
        client.pump(0.3)
        sim.fault("kraken", "stall", seconds=1.0)
        client.pump(0.1)  # frames written before the stall are still on their way
        client.send('{"method":"ping","req_id":42}')
        client.keep = True
        client.pump(0.75)
        during = list(client.texts)
        client.pump(0.5)
        after = settle(sim, "kraken", client)
    finally:
        client.close()
    assert during == [] and client.closed is None  # nothing at all, yet the socket stays open
    assert any('"req_id":42' in text for text in client.texts)  # the ping waited, answered after the stall
    assert any(text == '{"channel":"heartbeat"}' for text in client.texts)
    assert len(client.live) == after["trades"]
    assert after["faults"]["stall"] == 1


def test_stall_holds_back_the_next_frame_for_its_whole_length(sim):
    client = connect(sim, "okx")
    try:
        client.pump(0.2)
        sim.fault("okx", "stall", seconds=0.8)
        faulted_at = time.monotonic()
        client.pump(0.1)  # frames written before the stall are still on their way
        client.ws.settimeout(2.0)
        client.ws.recv()  # blocks through the stall
        silent_for = time.monotonic() - faulted_at
    finally:
        client.close()
    assert 0.7 < silent_for < 1.5


@pytest.mark.parametrize("venue", ["okx", "bitfinex", "deribit", "gemini"])
def test_malformed_frames_raise_frame_error_and_the_parser_keeps_working(sim, venue):
    before = sim.venue_stats(venue)
    client = connect(sim, venue)
    try:
        client.pump(0.2)
        live_before = len(client.live)
        sim.fault(venue, "malformed", count=6)
        client.pump(0.4)
        after = settle(sim, venue, client)
    finally:
        client.close()
    kinds = sorted(error.kind for error in client.errors)
    assert len(kinds) == 6 and "missing_field" in kinds and "unknown_message" in kinds
    assert len(client.live) > live_before  # still parsing live trades after the bad frames
    assert len(client.live) == after["trades"] - before["trades"]
    assert after["malformed"] - before["malformed"] == 6


def test_skip_makes_each_symbol_jump_by_count_plus_one(sim):
    symbols = list(VENUES["coinbase"].DEFAULT_SYMBOLS)
    before = sim.venue_stats("coinbase")
    client = connect(sim, "coinbase")
    try:
        client.pump(0.3)
        sim.fault("coinbase", "skip", count=3)
        client.pump(0.3)
        after = settle(sim, "coinbase", client)
    finally:
        client.close()
    ids = defaultdict(list)
    for trade in client.live:
        ids[trade.symbol].append(int(trade.trade_id))
    for symbol in symbols:
        steps = [b - a for a, b in zip(ids[symbol], ids[symbol][1:])]
        assert sorted(set(steps)) == [1, 4] and steps.count(4) == 1
        assert after["symbols"][symbol]["skipped"] - before["symbols"][symbol]["skipped"] == 3
    assert len(client.live) == after["trades"] - before["trades"]


def test_skip_one_symbol_only(sim):
    before = sim.venue_stats("okx")
    sim.fault("okx", "skip", count=2, symbol="ETH-USDT")
    after = sim.venue_stats("okx")
    skipped = {name: after["symbols"][name]["skipped"] - before["symbols"][name]["skipped"]
               for name in after["symbols"]}
    assert skipped == {"BTC-USDT": 0, "ETH-USDT": 2, "BTC-USDT-SWAP": 0}


def test_refuse_fails_new_connections_then_accepts_again(sim):
    existing = connect(sim, "bybit")
    url = sim.url("bybit")
    try:
        sim.fault("bybit", "refuse", seconds=1.0)
        refused_at = time.monotonic()
        with pytest.raises((ConnectionRefusedError, websocket.WebSocketException, OSError)):
            websocket.create_connection(url, timeout=1)
        existing.pump(0.2)
        assert existing.closed is None and existing.live  # connections already open are untouched
        while time.monotonic() - refused_at < 1.2:
            time.sleep(0.05)
        again = websocket.create_connection(url, timeout=2)
        again.close()
    finally:
        existing.close()
    stats = sim.venue_stats("bybit")
    assert stats["faults"]["refuse"] == 1 and not stats["refusing"]


def test_a_raw_refused_connect_is_a_tcp_refusal(sim):
    sim.fault("bitstamp", "refuse", seconds=0.5)
    host, port = sim.url("bitstamp").removeprefix("ws://").split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=1).close()


def test_unknown_fault_is_refused_by_the_control_port(sim):
    from simulator import SimulatorError
    with pytest.raises(SimulatorError, match="unknown fault"):
        sim.fault("okx", "explode")
    with pytest.raises(SimulatorError, match="not simulated"):
        sim.fault("nasdaq", "drop")
