"""Every venue end to end: websocket-client + the UNCHANGED venue module (url_for,
on_connect_messages, subscribe_messages, Parser) against the simulator over loopback.
What the parser yields as live must be exactly what the simulator counted as sent."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from simulator.client import VenueClient
from simulator.venues import VENUES as SIMULATED
from feeds.venues import VENUES

RATE = 3000  # trades per second per venue


pytestmark = pytest.mark.simulator("all", rate=RATE, heartbeat_scale=0.1)


def delta(after: dict, before: dict, field: str) -> int:
    return after[field] - before[field]


def trade_number(venue: str, trade_id: str) -> int:
    return int(trade_id[-12:], 16) if venue == "bitmex" else int(trade_id)


@pytest.mark.parametrize("venue", list(VENUES))
def test_live_trades_parsed_equal_trades_sent(sim, venue):
    symbols = list(VENUES[venue].DEFAULT_SYMBOLS)
    before = sim.venue_stats(venue)
    client = VenueClient(venue, sim.url(venue), symbols)
    try:
        client.pump(0.4)
        sim.pause(venue)
        client.drain()
        after = sim.venue_stats(venue)
    finally:
        sim.resume(venue)
        client.close()
    assert client.closed is None and not client.errors
    assert after["pending_bytes"] == 0
    assert len(client.live) == delta(after, before, "trades") > 100
    per_symbol = Counter(trade.symbol for trade in client.live)
    for symbol in symbols:
        sent = after["symbols"][symbol]["trades"] - before["symbols"][symbol]["trades"]
        assert per_symbol[symbol] == sent > 0
        ids = [trade_number(venue, trade.trade_id) for trade in client.live if trade.symbol == symbol]
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # consecutive, in order, no duplicate
    # replays went to parser.replayed, never to the live list, and were counted apart
    assert len(client.replayed) == delta(after, before, "replayed")
    assert not {trade.trade_id for trade in client.replayed} & {trade.trade_id for trade in client.live}
    if SIMULATED[venue].BATCH != (1,):
        assert client.multi_trade_frames > 0
        assert delta(after, before, "frames") < delta(after, before, "trades")
    else:
        assert delta(after, before, "frames") == delta(after, before, "trades")


@pytest.mark.parametrize("venue, replayed_per_symbol", [("kraken", 50), ("bitfinex", 30), ("bitmex", 5),
                                                        ("coinbase", 1)])
def test_replays_on_subscribe_precede_the_live_ids(sim, venue, replayed_per_symbol):
    symbols = list(VENUES[venue].DEFAULT_SYMBOLS)
    client = VenueClient(venue, sim.url(venue), symbols)
    try:
        client.pump(0.3)
    finally:
        client.close()
    assert len(client.replayed) == replayed_per_symbol * len(symbols)
    for symbol in symbols:
        replayed = sorted(trade_number(venue, t.trade_id) for t in client.replayed if t.symbol == symbol)
        live = [trade_number(venue, t.trade_id) for t in client.live if t.symbol == symbol]
        assert replayed == list(range(replayed[0], replayed[0] + len(replayed)))
        assert live and live[0] == replayed[-1] + 1  # the replay ends right before the first live trade


def test_gemini_market_data_v2_replays_initial_trades(sim):
    client = VenueClient("gemini", sim.url("gemini"), ["btcusd"], subscribe=False)
    before = sim.venue_stats("gemini")
    try:
        client.send('{"type":"subscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD"]}]}')
        client.pump(0.3)
        sim.pause("gemini")
        client.drain()
        after = sim.venue_stats("gemini")
    finally:
        sim.resume("gemini")
        client.close()
    assert not client.errors
    assert len(client.replayed) == 50 == delta(after, before, "replayed")
    assert {trade.symbol for trade in client.live} == {"BTCUSD"}
    assert len(client.live) == delta(after, before, "trades") > 0


def test_binance_raw_stream_path_subscribe_method_and_microseconds(sim):
    base = sim.url("binance")

    class RawUrl:  # the venue module's Parser, a raw-stream URL with µs times
        NAME, Parser = "binance", VENUES["binance"].Parser
        on_connect_messages = staticmethod(lambda: [])
        subscribe_messages = staticmethod(lambda symbols: [])
        url_for = staticmethod(lambda url, symbols: f"{url}/ws/btcusdt@trade?timeUnit=MICROSECOND")

    client = VenueClient(RawUrl, base, ["BTCUSDT"])
    client.keep = True
    try:
        client.send('{"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":7}')
        client.pump(0.3)
    finally:
        client.close()
    assert not client.errors
    assert {trade.symbol for trade in client.live} == {"BTCUSDT", "ETHUSDT"}
    frame = next(text for text in client.texts if '"e":"trade"' in text)
    assert '"stream"' not in frame  # a raw stream: bare payloads
    assert len(frame.split('"T":')[1].split(",")[0]) == 16  # µs since the epoch
    now = time.time_ns()
    assert all(abs(trade.ts_ns - now) < 3600 * 10**9 for trade in client.live)  # read as µs, not as ms
