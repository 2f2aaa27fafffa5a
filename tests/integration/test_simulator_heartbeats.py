"""Keepalives as each venue does them (periods shortened tenfold: heartbeat_scale=0.1)."""
from __future__ import annotations

import time

import orjson
import pytest
import websocket

from simulator.client import VenueClient
from feeds.venues import VENUES


pytestmark = pytest.mark.simulator("all", rate=200, heartbeat_scale=0.1)


def texts_until(ws: websocket.WebSocket, wanted, seconds: float = 2.0) -> str:
    """Read frames until one satisfies ``wanted`` (a predicate on the text)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ws.settimeout(max(end - time.monotonic(), 0.01))
        try:
            text = ws.recv()
        except websocket.WebSocketTimeoutException:
            break
        if wanted(text):
            return text
    raise AssertionError("the expected frame never came")


@pytest.mark.parametrize("venue, ping, is_pong", [
    ("okx", "ping", lambda text: text == "pong"),
    ("bitmex", "ping", lambda text: text == "pong"),
    ("bybit", '{"op":"ping","req_id":"7"}', lambda text: '"ret_msg":"pong"' in text and '"req_id":"7"' in text),
    ("bitstamp", '{"event":"bts:heartbeat"}', lambda text: '"bts:heartbeat"' in text and "success" in text),
    ("kraken", '{"method":"ping","req_id":9}', lambda text: '"method":"pong"' in text and '"req_id":9' in text),
    ("bitfinex", '{"event":"ping","cid":1234}', lambda text: '"event":"pong"' in text and '"cid":1234' in text),
    ("gemini", '{"id":0,"method":"ping"}', lambda text: text == '{"id":0,"status":200}'),
])
def test_application_ping_is_answered_and_the_parser_ignores_the_answer(sim, venue, ping, is_pong):
    module = VENUES[venue]
    ws = websocket.create_connection(module.url_for(sim.url(venue), list(module.DEFAULT_SYMBOLS)), timeout=2)
    try:
        ws.send(ping)
        pong = texts_until(ws, is_pong)
    finally:
        ws.close()
    assert module.Parser().parse(pong) == []


def test_protocol_ping_from_the_client_gets_a_pong(sim):
    ws = websocket.create_connection(sim.url("bitstamp"), timeout=2)
    try:
        ws.ping(b"are you there")
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                break
    finally:
        ws.close()
    assert data == b"are you there"


def test_deribit_closes_when_a_test_request_is_not_answered(sim):
    """set_heartbeat(10) -> test_request every 1 s here; the silent client is closed (4000)."""
    answering = VenueClient("deribit", sim.url("deribit"), ["BTC-PERPETUAL"], subscribe=False)
    silent = websocket.create_connection(sim.url("deribit"), timeout=3)
    silent.send(VENUES["deribit"].on_connect_messages()[0])
    requests, close_code = 0, None
    end = time.monotonic() + 3.0
    try:
        while time.monotonic() < end and close_code is None:
            answering.pump(0.05)
            silent.settimeout(0.05)
            try:
                opcode, data = silent.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                continue
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                close_code = int.from_bytes(data[:2], "big")
            elif b"test_request" in data:
                requests += 1
        answering.pump(0.5)
    finally:
        answering.close()
        silent.close()
    assert requests >= 1 and close_code == 4000
    assert answering.closed is None and not answering.errors  # it answered every test_request: still open


def test_deribit_rejects_a_heartbeat_under_10_seconds(sim):
    ws = websocket.create_connection(sim.url("deribit"), timeout=2)
    try:
        ws.send('{"jsonrpc":"2.0","id":5,"method":"public/set_heartbeat","params":{"interval":5}}')
        reply = orjson.loads(ws.recv())
    finally:
        ws.close()
    assert reply["id"] == 5 and reply["error"]["code"] == -32602


def test_binance_sends_protocol_pings_that_websocket_client_answers(sim):
    client = VenueClient("binance", sim.url("binance"), ["BTCUSDT"])
    try:
        client.pump(2.3)  # 20 s, scaled
    finally:
        client.close()
    assert client.pings >= 1 and client.closed is None


@pytest.mark.parametrize("venue, is_heartbeat, seconds", [
    ("kraken", lambda text: text == '{"channel":"heartbeat"}', 0.5),
    ("coinbase", lambda text: '"type":"heartbeat"' in text and '"last_trade_id"' in text, 0.5),
    ("bitfinex", lambda text: text.endswith(',"hb"]'), 2.0),
])
def test_server_heartbeats_on_subscribed_connections(sim, venue, is_heartbeat, seconds):
    client = VenueClient(venue, sim.url(venue), list(VENUES[venue].DEFAULT_SYMBOLS))
    client.keep = True
    try:
        client.pump(seconds)
    finally:
        client.close()
    assert any(is_heartbeat(text) for text in client.texts)
    assert not client.errors


def test_coinbase_heartbeats_come_for_one_product_per_connection(sim):
    """The feed asks for the heartbeat channel on one product: a frame a second shows the connection is
    alive; one per product (hundreds a second on a big connection) would show nothing more."""
    symbols = ["BTC-USD", "ETH-USD", "SOL-USD"]
    client = VenueClient("coinbase", sim.url("coinbase"), symbols)
    client.keep = True
    products: list = []
    try:
        deadline = time.monotonic() + 30.0  # generous: a loaded machine
        while len(products) < 3 and time.monotonic() < deadline:
            client.pump(0.2)
            products = [orjson.loads(text)["product_id"] for text in client.texts if '"type":"heartbeat"' in text]
    finally:
        client.close()
    assert len(products) >= 3 and set(products) == {"BTC-USD"}
    assert not client.errors


def test_coinbase_closes_a_connection_that_never_subscribes(sim):
    ws = websocket.create_connection(sim.url("coinbase"), timeout=2)
    try:
        opcode, data = ws.recv_data(control_frame=True)  # 5 s, scaled
    finally:
        ws.close()
    assert opcode == websocket.ABNF.OPCODE_CLOSE
