"""Bitfinex v2 public ``trades`` channel.

Array frames carry only a chanId, so the parser keeps ``chanId -> symbol`` from
each ``subscribed`` event (per connection: a new connection needs a new Parser).
The map holds one channel per symbol and at most ``MAX_CHANNELS`` (what a
connection can subscribe): a ``subscribed`` past that is a counted frame error
(``unknown_channel``: its trades will not be read), so a server cannot make the map grow.
"""
from __future__ import annotations

from functools import partial

import orjson

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, price, signed_size,
                             trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown, snapshot

NAME = "bitfinex"
URL = "wss://api-pub.bitfinex.com/ws/2"
DEFAULT_SYMBOLS = ["tBTCUSD", "tETHUSD"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
MAX_CHANNELS = 25  # per connection (ws-public)
PING_TEXT = None  # the server sends [chanId,"hb"] every 15 s per channel
PING_INTERVAL_S = None
STALE_AFTER_S = 35.0
SEQ_IS_TRADE_ID = False
SYMBOL_CASE = "prefix"  # tBTCUSD: lower-case t/f, then upper case (feeds/canonical.py)

# executed trade (spot / funding); "tu"/"ftu" repeat the same trade id: ignored
_LIVE = frozenset(("te", "fte"))
_REPEAT = frozenset(("tu", "ftu", "hb"))
# info codes: 20051 restart (reconnect), 20060/20061 maintenance start/end
_QUIET_EVENTS = frozenset(("info", "pong", "conf", "unsubscribed"))
_INF = float("inf")
_MAX_MS = MAX_NS // 1_000_000  # later times do not fit a tick's int64 ns


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """One ``{"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}`` per symbol."""
    if len(symbols) > MAX_CHANNELS:
        raise ValueError(f"bitfinex takes at most {MAX_CHANNELS} channels per connection, got {len(symbols)}")
    return [orjson.dumps({"event": "subscribe", "channel": "trades", "symbol": symbol}).decode()
            for symbol in symbols]


def on_connect_messages() -> list[str]:
    return []


def _trade(symbol: str, row: list) -> Trade:
    """[ID, MTS, AMOUNT, PRICE]; AMOUNT > 0 taker bought, < 0 taker sold (funding: PRICE is the RATE)."""
    amount = signed_size(row[2])
    return (symbol, price(row[3]), abs(amount), BUY if amount > 0 else SELL,
            ns_from_ms(row[1]), trade_id(row[0]), 0, -1, 1)


def _usual(msg: object, symbols: dict) -> list[Trade] | None:
    """A live trade (``te``) on a known channel whose every field has its usual form (numbers, integer id
    and ms), or a repeat (``tu``, heartbeat: nothing), as ``parse_careful`` would give it; None on any doubt."""
    try:
        if type(msg) is not list or len(msg) < 2:
            return None
        body = msg[1]
        if type(body) is not str:
            return None
        if body in _REPEAT:
            return []
        symbol = symbols.get(msg[0])
        row = msg[2]
        if symbol is None or body not in _LIVE or type(row) is not list:
            return None
        tid, ms, amount, p = row[0], row[1], row[2], row[3]
        kind_a, kind_p = type(amount), type(p)
        if not ((kind_a is float or kind_a is int) and (kind_p is float or kind_p is int) and type(ms) is int
                and type(tid) is int and 0 <= ms <= _MAX_MS):
            return None
        amount, price_ = float(amount), float(p)
        if not (0.0 < price_ < _INF and -_INF < amount < _INF and amount != 0.0):
            return None
        return [(symbol, price_, abs(amount), BUY if amount > 0 else SELL, ms * 1_000_000, str(tid),
                 0, -1, 1)]
    except Exception:  # noqa: BLE001 - an unhashable chanId, a short row ...: the careful path says what
        return None


class Parser(HotPathParser):
    """``te`` is live; the array snapshot after subscribing is a replay; ``tu`` is ignored.

    [89,"te",[382489563,1564617600709,0.00705845,10087.98969503],18,1564617600784]
    (after {"event":"subscribed","channel":"trades","chanId":89,"symbol":"tBTCUSD","pair":"BTCUSD"})
    """

    def __init__(self) -> None:
        super().__init__()
        self.symbols: dict[int, str] = {}  # chanId -> symbol, from "subscribed"
        self.usual = partial(_usual, symbols=self.symbols)  # the hot path (feeds/hot_path.py), on these channels
        if scan is not None:  # the compiled hot path (feeds/_scan.c), where built, on the same channels
            self.scanned = partial(scan.bitfinex, self.symbols)

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path: each field converted and checked in turn (tests compare the two)."""
        msg = load_json(frame)
        try:
            if type(msg) is list:
                if len(msg) < 2:
                    raise FrameError("unknown_message", f"bitfinex array {shown(msg)}")
                body = msg[1]
                if type(body) is str:
                    if body in _REPEAT:
                        return []
                    if body not in _LIVE:
                        raise FrameError("unknown_message", f"bitfinex array {shown(msg)}")
                    return [_trade(self._symbol(msg[0]), msg[2])]
                if type(body) is list:
                    symbol = self._symbol(msg[0])
                    self.replayed.extend([snapshot(_trade(symbol, row)) for row in body])
                    return []
                raise FrameError("unknown_message", f"bitfinex array {shown(msg)}")
            if type(msg) is not dict:
                raise not_json_object(frame, "a JSON object or array")
            event = msg.get("event")
            if event == "subscribed":
                if msg["channel"] == "trades":
                    self._subscribed(msg["chanId"], msg["symbol"])
                return []
            if event == "error":
                raise FrameError("venue_error", f"bitfinex error {shown(msg.get('code'))}: {shown(msg.get('msg'))}")
            if event in _QUIET_EVENTS:
                if event == "unsubscribed":
                    self.symbols.pop(msg.get("chanId"), None)
                return []
            raise FrameError("unknown_message", f"bitfinex event {shown(event)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None

    def _subscribed(self, chan_id: object, symbol: object) -> None:
        """Map ``chan_id`` to ``symbol``: a symbol's new channel replaces its old one; a new one past the cap is refused."""
        if type(symbol) is not str or type(chan_id) is not int:
            raise FrameError("missing_field", f"bitfinex subscribed chanId {shown(chan_id)} symbol {shown(symbol)}")
        for old, known in list(self.symbols.items()):
            if known == symbol:
                del self.symbols[old]
        if chan_id not in self.symbols and len(self.symbols) >= MAX_CHANNELS:
            raise FrameError("unknown_channel", f"bitfinex subscribed {symbol[:40]!r} on chanId {chan_id}: already "
                                              f"{MAX_CHANNELS} channels on this connection (the most it takes)")
        self.symbols[chan_id] = symbol

    def _symbol(self, chan_id: object) -> str:
        symbol = self.symbols.get(chan_id)
        if symbol is None:
            raise FrameError("unknown_channel", f"bitfinex chanId {shown(chan_id)} was never subscribed")
        return symbol
