"""Unknown symbols and bad requests get what the venue sends: its error frame, which the
unchanged parser turns into FrameError("venue_error") — or, where the venue is silent
(Binance, Bitstamp, Deribit; exchange-protocols.md §12), silence."""
from __future__ import annotations

import orjson
import pytest
import websocket

from simulator.client import VenueClient
from feeds.venues import VENUES

UNKNOWN = {"okx": "NOPE-USDT", "coinbase": "NOPE-USD", "kraken": "NOPE/USD", "bybit": "NOPEUSDT",
           "bitfinex": "tNOPEUSD", "gemini": "nopeusd", "bitmex": "NOPEUSD",
           "binance": "NOPEUSDT", "bitstamp": "nopeusd", "deribit": "NOPE-PERPETUAL"}
SILENT = ("binance", "bitstamp", "deribit")


pytestmark = pytest.mark.simulator("all", rate=200)


@pytest.mark.parametrize("venue", [name for name in VENUES if name not in SILENT])
def test_unknown_symbol_gets_the_venue_error_frame(sim, venue):
    client = VenueClient(venue, sim.url(venue), [UNKNOWN[venue]])
    try:
        client.pump(0.5, quiet_s=0.3)
    finally:
        client.close()
    assert [error.kind for error in client.errors] == ["venue_error"]
    assert client.live == [] and client.closed is None


def test_one_unknown_symbol_among_known_ones(sim):
    """OKX answers per instrument: the known one is served, the unknown one gets 60018."""
    client = VenueClient("okx", sim.url("okx"), ["BTC-USDT", UNKNOWN["okx"]])
    try:
        client.pump(0.5)
    finally:
        client.close()
    assert [error.kind for error in client.errors] == ["venue_error"] and "60018" in str(client.errors[0])
    assert {trade.symbol for trade in client.live} == {"BTC-USDT"}


@pytest.mark.parametrize("venue", SILENT)
def test_silent_venues_serve_nothing_for_an_unknown_symbol(sim, venue):
    client = VenueClient(venue, sim.url(venue), [UNKNOWN[venue]])
    client.keep = True
    try:
        client.pump(0.4)
    finally:
        client.close()
    assert client.live == [] and client.errors == [] and client.closed is None
    if venue == "deribit":  # the channel is left out of the subscribe result
        result = next(orjson.loads(text) for text in client.texts if '"id":2' in text)
        assert result["result"] == []
    if venue == "bitstamp":  # acked all the same
        assert any("bts:subscription_succeeded" in text for text in client.texts)


@pytest.mark.parametrize("venue, request_text", [
    ("okx", '{"op":"subscribe","args":'),
    ("kraken", "not json"),
    ("bybit", '{"op":"dance"}'),
    ("bitfinex", '{"event":"dance"}'),
    ("bitmex", '{"op":"dance"}'),
    ("gemini", '{"id":3,"method":"dance"}'),
    ("coinbase", '{"type":"subscribe","product_ids":["BTC-USD"],"channels":["level9"]}'),
    ("deribit", '{"jsonrpc":"2.0","id":4,"method":"public/dance"}'),
])
def test_bad_requests_get_error_frames(sim, venue, request_text):
    ws = websocket.create_connection(sim.url(venue), timeout=2)
    parser = VENUES[venue].Parser()
    errors = []
    try:
        ws.send(request_text)
        ws.settimeout(0.5)
        while not errors:
            try:
                parser.parse(ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            except Exception as exc:  # noqa: BLE001 - the FrameError we are waiting for
                errors.append(exc)
    finally:
        ws.close()
    assert [getattr(error, "kind", None) for error in errors] == ["venue_error"]


def test_bitstamp_closes_on_a_request_over_512_bytes(sim):
    ws = websocket.create_connection(sim.url("bitstamp"), timeout=2)
    try:
        ws.send('{"event":"bts:subscribe","data":{"channel":"live_trades_' + "x" * 600 + '"}}')
        opcode, data = ws.recv_data(control_frame=True)
    finally:
        ws.close()
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1009
