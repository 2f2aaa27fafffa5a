"""Gemini trades: the current API (``wss://ws.gemini.com``, ``<symbol>@trade``) and
the archived Market Data v2 (``wss://api.gemini.com/v2/marketdata``, ``l2``).

We subscribe through the current API; the parser reads v2 frames too (recorded
samples, clients still on v2). New API: ``m`` = buyer is maker, ``E`` in ns.
v2: ``side`` is the taker's, ``block`` trades have no aggressor (UNKNOWN), and the
``trades`` array in ``l2_updates`` is the replay of recent trades.
"""
from __future__ import annotations

import orjson

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, ns_from_ns, price,
                             side, side_from_buyer_is_maker, size, trade_id)
from feeds.trade import BUY, SELL, UNKNOWN, FrameError, Trade, shown, snapshot

NAME = "gemini"
URL = "wss://ws.gemini.com"
DEFAULT_SYMBOLS = ["btcusd", "ethusd"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
PING_TEXT = '{"id":0,"method":"ping"}'  # answered {"id":0,"status":200}; the server also pings every 20 s
PING_INTERVAL_S = 20.0
STALE_AFTER_S = 45.0
SEQ_IS_TRADE_ID = False
SYMBOL_CASE = "lower"  # canonical symbol form (feeds/canonical.py)

_V2_SIDES = {"buy": BUY, "sell": SELL, "block": UNKNOWN}
_INF = float("inf")


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``{"id":1,"method":"subscribe","params":["btcusd@trade",...]}`` (lowercase symbols)."""
    return [orjson.dumps({"id": 1, "method": "subscribe",
                          "params": [f"{symbol.lower()}@trade" for symbol in symbols]}).decode()]


def on_connect_messages() -> list[str]:
    return []


def _v2_trade(row: dict) -> Trade:
    return (row["symbol"], price(row["price"]), size(row["quantity"]), side(_V2_SIDES, row["side"]),
            ns_from_ms(row["timestamp"]), trade_id(row["event_id"]), 0, -1, 1)


def _usual(msg: object) -> list[Trade] | None:
    """A new-API trade whose every field has its usual form (text price and size, integer ns and id), as
    ``parse_careful`` would build it; None on any doubt."""
    try:
        if type(msg) is not dict or "t" not in msg:
            return None
        p, q, buyer_is_maker, ns, tid = msg["p"], msg["q"], msg["m"], msg["E"], msg["t"]
        if not (type(p) is str and type(q) is str and type(ns) is int and type(tid) is int and "_" not in p
                and "_" not in q and 0 <= ns <= MAX_NS and (buyer_is_maker is True or buyer_is_maker is False)):
            return None
        price_, size_ = float(p), float(q)  # ValueError: a doubt
        if not (0.0 < price_ < _INF and 0.0 < size_ < _INF):
            return None
        return [(msg["s"], price_, size_, SELL if buyer_is_maker else BUY, ns, str(tid), 0, -1, 1)]
    except Exception:  # noqa: BLE001 - a missing key ...: the careful path says what
        return None


class Parser(HotPathParser):
    """New-API ``@trade`` and v2 ``trade`` are live; v2 ``l2_updates.trades`` is a replay.

    new API: {"E":1783981140085684200,"s":"btcrlusd","t":2840141014190422,"p":"62145.38000",
    "q":"0.0162522200","m":true}
    v2: {"type":"trade","symbol":"ANKRUSD","event_id":45465818387,"timestamp":1624493670759,
    "price":"0.07946","quantity":"1020.482111","side":"buy"}
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.gemini if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path: each field converted and checked in turn (tests compare the two)."""
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            if "t" in msg or "E" in msg:  # new API trade: no event-type field
                return [(msg["s"], price(msg["p"]), size(msg["q"]), side_from_buyer_is_maker(msg["m"]),
                         ns_from_ns(msg["E"]), trade_id(msg["t"]), 0, -1, 1)]
            kind = msg.get("type")
            if kind == "trade":
                return [_v2_trade(msg)]
            if kind == "l2_updates":
                if "trades" in msg:
                    self.replayed.extend([snapshot(_v2_trade(row)) for row in msg["trades"]])
                return []
            if kind == "heartbeat":
                return []
            if "error" in msg or kind == "error" or msg.get("result") == "error" or msg.get("status", 200) != 200:
                reason = msg.get("error") or msg.get("reason") or msg.get("message")
                raise FrameError("venue_error", f"gemini error: {shown(reason)}")
            if "status" in msg and "id" in msg:
                return []  # new API response (subscribe, ping)
            raise FrameError("unknown_message", f"gemini message {shown(msg)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
