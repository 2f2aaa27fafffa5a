"""Binance spot trades: ``<symbol>@trade`` or ``@aggTrade``, raw or combined stream.

The subscription travels in the URL (``/stream?streams=a@trade/b@trade``), so no
subscribe frame is sent. Times are ms (our URL never asks for ``timeUnit``); a stream
that did ask for ``timeUnit=MICROSECOND`` writes 16-digit times, which the general path
reads as µs (no ms time reaches 10^14 before the year 5138).

Hot path: the compiled scanner (feeds/_scan.c, where built: feeds/compiled.py) reads a
usual trade frame straight from its bytes. On any doubt, and where it is not built,
``parse`` decodes with orjson and, when every field has its usual type, builds the Trade
inline (no helper calls); anything unusual goes through the normalize helpers, which say
what is wrong. ``seq`` is the trade id itself (``SEQ_IS_TRADE_ID``), so the TickWriter
never parses the id's text back.
"""
from __future__ import annotations

import orjson

from feeds.compiled import scan
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, sequence, missing, not_json_object, ns_from_ms, ns_from_us, price,
                             side_from_buyer_is_maker, size, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown
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
SEQ_IS_TRADE_ID = True  # ``seq`` is the numeric trade id itself: the tick's u64 id is taken from it
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)


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
_MAX_MS = MAX_NS // 1_000_000  # later times do not fit a tick's int64 ns
_loads, _JSONDecodeError = orjson.loads, orjson.JSONDecodeError


class Parser(ParserOutboxes):
    """Stateless apart from the outboxes every venue parser has."""

    scanned = scan.binance if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def parse(self, frame: str | bytes) -> list[Trade]:
        """{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT",
        "a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,
        "T":1633998523963,"m":false,"M":true}}

        The hot path: when every field has its usual type and range the trade is
        built inline (about half the cost of the general path); otherwise the
        general path converts each field and says what is wrong.
        """
        scanned = self.scanned
        if scanned is not None:
            trades = scanned(frame)
            if trades is not None:
                return trades
        try:
            msg = _loads(frame)  # load_json, inlined
        except _JSONDecodeError as exc:
            raise FrameError("json", f"malformed JSON: {exc}") from None
        if type(msg) is not dict:
            raise not_json_object(frame)
        data = msg.get("data", msg) if "stream" in msg else msg  # the combined stream's envelope, or none
        try:
            event = data.get("e")
            if event == "trade":
                tid = data["t"]
            elif event == "aggTrade":
                tid = data["a"]
            elif event == "serverShutdown" or ("result" in data and "id" in data):
                return []  # planned shutdown notice / SUBSCRIBE ack
            elif "code" in data or "error" in data:
                raise FrameError("venue_error", f"binance error: {shown(msg)}")
            else:
                raise FrameError("unknown_message", f"binance event {shown(event)}")
            p, q, ms, buyer_is_maker, symbol = data["p"], data["q"], data["T"], data["m"], data["s"]
            if (type(p) is str and type(q) is str and type(ms) is int and type(tid) is int and type(symbol) is str
                    and 0 <= ms <= _MAX_MS and 0 <= tid <= MAX_NS and "_" not in p and "_" not in q):
                try:
                    price_, size_ = float(p), float(q)
                except ValueError:
                    price_ = size_ = 0.0  # the general path says which is wrong
                if 0.0 < price_ < _INF and 0.0 < size_ < _INF and (buyer_is_maker is True or buyer_is_maker is False):
                    return [(symbol, price_, size_, SELL if buyer_is_maker else BUY, ms * 1_000_000,
                             str(tid), 0, tid, 1)]
            return [(data["s"], price(data["p"]), size(data["q"]),
                     side_from_buyer_is_maker(data["m"]), _time_ns(data["T"]), trade_id(tid), 0, sequence(tid), 1)]
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None


def _time_ns(value: object) -> int:
    """``T`` in ns: ms, or µs from a stream opened with ``timeUnit=MICROSECOND`` (16 digits)."""
    if type(value) is int and value >= _MICROSECOND_TIMES:
        return ns_from_us(value)
    return ns_from_ms(value)


_MICROSECOND_TIMES = 10**14  # ms times stay below this until the year 5138
