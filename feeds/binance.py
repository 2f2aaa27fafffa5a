"""Binance spot trades: ``<symbol>@trade`` or ``@aggTrade``, raw or combined stream.

The subscription travels in the URL (``/stream?streams=a@trade/b@trade``), so no
subscribe frame is sent. Times are ms (the URL never asks for ``timeUnit``).
"""
from __future__ import annotations

from feeds.normalize import (SHAPE_ERRORS, sequence, load_json, missing, ns_from_ms, price,
                             side_from_buyer_is_maker, size, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade
from feeds.venue_form import ParserOutboxes

NAME = "binance"
URL = "wss://stream.binance.com:9443"
DEFAULT_SYMBOLS = ["BTCUSDT", "ETHUSDT"]  # as the venue writes them
MAX_LIFETIME_S = 24 * 3600.0  # a connection is cut after 24 h
STREAM = "trade"  # one event per trade, consecutive ``t`` per symbol
MAX_STREAMS = 1024  # per connection
PING_TEXT = None  # the server pings every 20 s and websocket-client answers
PING_INTERVAL_S = None
STALE_AFTER_S = 60.0  # three missed server pings


def url_for(base_url: str, symbols: list[str]) -> str:
    """The combined-stream URL carrying one ``<symbol>@trade`` stream per symbol."""
    if not symbols or len(symbols) > MAX_STREAMS:
        raise ValueError(f"binance takes 1 to {MAX_STREAMS} symbols per connection, got {len(symbols)}")
    streams = "/".join(f"{symbol.lower()}@{STREAM}" for symbol in symbols)
    return f"{base_url.rstrip('/')}/stream?streams={streams}"


def subscribe_messages(symbols: list[str]) -> list[str]:
    """None: the URL subscribes."""
    return []


def on_connect_messages() -> list[str]:
    return []


_INF = float("inf")
_new_trade = tuple.__new__


def _fast_trade(data: dict, tid: object) -> Trade | None:
    """The trade when every field has its usual type and range, else None (the careful path
    then says what is wrong). About half the cost of the general path."""
    p, q, ms, buyer_is_maker, symbol = data["p"], data["q"], data["T"], data["m"], data["s"]
    if (type(p) is not str or type(q) is not str or type(ms) is not int or type(tid) is not int
            or type(symbol) is not str or ms < 0 or tid < 0 or "_" in p or "_" in q):
        return None
    try:
        price_, size_ = float(p), float(q)
    except ValueError:
        return None
    if not (0.0 < price_ < _INF and 0.0 < size_ < _INF) or (buyer_is_maker is not True and buyer_is_maker is not False):
        return None
    return _new_trade(Trade, (symbol, price_, size_, SELL if buyer_is_maker else BUY, ms * 1_000_000, str(tid), 0, tid, 1))


class Parser(ParserOutboxes):
    """Stateless apart from the outboxes every venue parser has."""

    def parse(self, frame: str | bytes) -> list[Trade]:
        """{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT",
        "a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,
        "T":1633998523963,"m":false,"M":true}}
        """
        msg = load_json(frame)
        if type(msg) is not dict:
            raise FrameError("unknown_message", f"not a JSON object: {frame[:80]!r}")
        data = msg["data"] if "stream" in msg and "data" in msg else msg
        try:
            event = data.get("e")
            if event == "trade":
                tid = data["t"]
            elif event == "aggTrade":
                tid = data["a"]
            elif event == "serverShutdown" or ("result" in data and "id" in data):
                return []  # planned shutdown notice / SUBSCRIBE ack
            elif "code" in data or "error" in data:
                raise FrameError("venue_error", f"binance error: {msg}")
            else:
                raise FrameError("unknown_message", f"binance event {event!r}")
            fast = _fast_trade(data, tid)  # the hot path: every field as expected
            if fast is not None:
                return [fast]
            return [Trade(data["s"], price(data["p"]), size(data["q"]),
                          side_from_buyer_is_maker(data["m"]), ns_from_ms(data["T"]), trade_id(tid), 0, sequence(tid))]
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
