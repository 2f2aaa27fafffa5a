"""The simulator's Coinbase Advanced Trade protocol over a real WebSocket (keepalive periods scaled down 50-fold):
acks, snapshot then updates, heartbeats, errors, and the channel that closes when idle without heartbeats."""
from __future__ import annotations

import orjson
import pytest
import websocket

from simulator.handle import start_simulator
from simulator.venues import coinbase_advanced as simulated

SCALE = 0.02  # heartbeats every 20 ms, an idle channel closes after 1.5 s


@pytest.fixture(scope="module")
def sim():
    with start_simulator(["coinbase"], rate=200, heartbeat_scale=SCALE) as handle:
        yield handle


def _connect(sim) -> websocket.WebSocket:
    return websocket.create_connection(sim.url("coinbase") + "/advanced-trade", timeout=10)


def _subscribe(ws, channel: str, products=("BTC-USD",), kind: str = "subscribe") -> None:
    ws.send(orjson.dumps({"type": kind, "product_ids": list(products), "channel": channel}).decode())


def _next(ws, wanted) -> dict:
    """Messages until one satisfies ``wanted``; the socket's 10 s timeout ends a wait that never comes."""
    while True:
        message = orjson.loads(ws.recv())
        if wanted(message):
            return message


def test_snapshot_then_batched_updates_with_acks_and_heartbeats(sim):
    ws = _connect(sim)
    try:
        _subscribe(ws, "market_trades", ("BTC-USD", "ETH-USD"))
        _subscribe(ws, "heartbeats")
        ack = _next(ws, lambda m: m.get("channel") == "subscriptions")
        assert ack["events"][0]["subscriptions"]["market_trades"] == ["BTC-USD", "ETH-USD"]
        kinds = []
        while len([k for k in kinds if k == "update"]) < 20:
            message = _next(ws, lambda m: m.get("channel") == "market_trades")
            kinds.append(message["events"][0]["type"])
        assert kinds[:2] == ["snapshot", "snapshot"] and "snapshot" not in kinds[2:]
        beats = [_next(ws, lambda m: m.get("channel") == "heartbeats") for _ in range(3)]
        counters = [int(beat["events"][0]["heartbeat_counter"]) for beat in beats]
        assert counters == sorted(counters) and len(set(counters)) == 3
    finally:
        ws.close()


@pytest.mark.parametrize("request_text", [
    '{"type":"subscribe","product_ids":["NOPE-USD"],"channel":"market_trades"}',
    '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level9"}',
    '{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches"]}',  # the Exchange feed's form
    "not json",
])
def test_bad_requests_get_an_error_message(sim, request_text):
    ws = _connect(sim)
    try:
        ws.send(request_text)
        error = _next(ws, lambda m: m.get("type") == "error")
        assert error["message"].startswith("failure to")
    finally:
        ws.close()


def test_an_idle_channel_closes_without_heartbeats_and_stays_open_with_them(sim):
    sim.pause("coinbase")  # no updates from now on
    quiet, kept = _connect(sim), _connect(sim)
    try:
        _subscribe(quiet, "market_trades")
        _subscribe(kept, "market_trades")
        _subscribe(kept, "heartbeats")
        _next(kept, lambda m: m.get("channel") == "subscriptions" and "heartbeats" in m["events"][0]["subscriptions"])
        # the quiet connection's channel closes: a subscriptions message without market_trades products
        closed = _next(quiet, lambda m: m.get("channel") == "subscriptions"
                       and not m["events"][0]["subscriptions"]["market_trades"])
        assert closed["events"][0]["subscriptions"] == {"market_trades": []}
        # twice the idle time in heartbeats later, the kept connection still has its channel
        beats = 2 * int(simulated.IDLE_CLOSE_S / simulated.HEARTBEAT_S)
        seen = [_next(kept, lambda m: m.get("channel") in ("heartbeats", "subscriptions")) for _ in range(beats)]
        assert all(message["channel"] == "heartbeats" for message in seen)
        sim.resume("coinbase")
        assert _next(kept, lambda m: m.get("channel") == "market_trades")["events"][0]["type"] == "update"
    finally:
        sim.resume("coinbase")
        quiet.close()
        kept.close()
