"""The simulator refuses what one connection of the venue refuses (exchange-protocols §1, §7), so the
feed's split into connections (tests/integration/test_feed_connections.py) is proven against it."""
from __future__ import annotations

import orjson
import pytest
import websocket

from simulator.handle import start_simulator

STREAMS = [f"s{n:04d}usdt@trade" for n in range(1025)]


@pytest.fixture(scope="module")
def sim():
    with start_simulator(["binance", "bitstamp"], rate=10) as handle:
        yield handle


def _closed_with(ws: websocket.WebSocket) -> tuple[int, bytes]:
    """The next frame that is not a trade or an ack: (opcode, payload); (0, b"") at EOF."""
    while True:
        try:
            opcode, payload = ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            return 0, b""
        if opcode in (websocket.ABNF.OPCODE_CLOSE,):
            return opcode, payload
        if opcode == websocket.ABNF.OPCODE_TEXT and b"subscription_succeeded" not in payload and b'"result"' not in payload:
            continue


def test_binance_closes_a_connection_asking_1025_streams_in_its_url(sim):
    ws = websocket.create_connection(f"{sim.url('binance')}/stream?streams={'/'.join(STREAMS)}", timeout=10)
    try:
        opcode, payload = _closed_with(ws)
    finally:
        ws.close()
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(payload[:2], "big") == 1008
    assert b"too many streams" in payload


def test_binance_takes_1024_streams_and_closes_at_a_subscribe_past_them(sim):
    ws = websocket.create_connection(f"{sim.url('binance')}/stream?streams={'/'.join(STREAMS[:1024])}", timeout=10)
    try:
        ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}).decode())
        while b'"id":7' not in (reply := ws.recv_data()[1]):
            pass
        assert orjson.loads(reply)["result"] == []  # open: the streams name unknown symbols, so none is served
        ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": [STREAMS[1024]], "id": 8}).decode())
        opcode, payload = _closed_with(ws)
    finally:
        ws.close()
    assert opcode == websocket.ABNF.OPCODE_CLOSE and b"too many streams" in payload


def test_bitstamp_silently_drops_a_connection_at_its_1025th_channel(sim):
    ws = websocket.create_connection(sim.url("bitstamp"), timeout=10)
    try:
        for n in range(1024):
            ws.send(orjson.dumps({"event": "bts:subscribe", "data": {"channel": f"live_trades_s{n}usd"}}).decode())
        acks = 0
        while acks < 1024:  # all acked (unknown markets too), the connection open
            acks += b"bts:subscription_succeeded" in ws.recv_data()[1]
        ws.send(orjson.dumps({"event": "bts:subscribe", "data": {"channel": "live_trades_s1024usd"}}).decode())
        opcode, _ = _closed_with(ws)
    finally:
        ws.close()
    assert opcode == 0  # EOF, no close frame
