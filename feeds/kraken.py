"""Kraken spot WebSocket v2 ``trade`` channel; also reads legacy v1 trade arrays.

v2 (``wss://ws.kraken.com/v2``) is what we subscribe to. The recorded samples
are v1 (``[channelID, [[price, volume, time, side, ordType, misc], ...], "trade", pair]``),
which carry no trade id (``trade_id`` is then ``""``).
"""
from __future__ import annotations

import orjson

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_decimal_seconds,
                             ns_from_iso, price, sequence, side, size, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown, snapshot

NAME = "kraken"
URL = "wss://ws.kraken.com/v2"
DEFAULT_SYMBOLS = ["BTC/USD", "ETH/USD"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
PING_TEXT = None  # subscribed connections get {"channel":"heartbeat"} every second
PING_INTERVAL_S = None
STALE_AFTER_S = 10.0
SEQ_IS_TRADE_ID = True  # ``seq`` is the numeric ``trade_id`` (v2)
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)

_SIDES = {"buy": BUY, "sell": SELL}  # v2: side of the taker
_V1_SIDES = {"b": BUY, "s": SELL}  # v1: side of the taker
_QUIET_CHANNELS = frozenset(("heartbeat", "status"))
_QUIET_V1_EVENTS = frozenset(("heartbeat", "systemStatus", "subscriptionStatus", "pong"))
_INF = float("inf")


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """v2 subscribe; ``snapshot`` asks for the last 50 trades (kept apart as replayed)."""
    return [orjson.dumps({"method": "subscribe",
                          "params": {"channel": "trade", "symbol": list(symbols), "snapshot": True}}).decode()]


def on_connect_messages() -> list[str]:
    return []


def _usual(msg: object) -> list[Trade] | None:
    """A v2 ``update`` whose every field has its usual form (float price and qty, an integer trade id, an
    ISO time in UTC), as ``parse_careful`` would build it; None on any doubt."""
    try:
        if type(msg) is not dict or msg.get("channel") != "trade" or msg["type"] != "update":
            return None
        rows = msg["data"]
        if type(rows) is not list:
            return None
        trades = []
        keep = trades.append
        for row in rows:
            if type(row) is not dict:
                return None
            p, q, tid = row["price"], row["qty"], row["trade_id"]
            if not (type(p) is float and type(q) is float and type(tid) is int and 0.0 < p < _INF and 0.0 < q < _INF
                    and 0 <= tid <= MAX_NS):
                return None
            keep((row["symbol"], p, q, _SIDES[row["side"]], ns_from_iso(row["timestamp"]), str(tid),
                  0, tid, 1))
        return trades
    except Exception:  # noqa: BLE001 - a missing key, a bad time ...: the careful path says what
        return None


class Parser(HotPathParser):
    """v2 ``type:"update"`` is live, ``type:"snapshot"`` is a replay.

    v2: {"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,
    "qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}
    v1: [993,[["354.11000000","0.89594024","1618678142.557535","s","l",""]],"trade","XMR/USD"]
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.kraken if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path: each field converted and checked in turn (tests compare the two)."""
        msg = load_json(frame)
        try:
            if type(msg) is list:
                return self._parse_v1(msg)
            if type(msg) is not dict:
                raise not_json_object(frame, "a JSON object or array")
            channel = msg.get("channel")
            if channel == "trade":
                kind = msg["type"]
                trades = [(row["symbol"], price(row["price"]), size(row["qty"]), side(_SIDES, row["side"]),
                           ns_from_iso(row["timestamp"]), trade_id(row["trade_id"]), 0,
                           sequence(row["trade_id"]), 1) for row in msg["data"]]
                if kind == "update":
                    return trades
                if kind == "snapshot":
                    self.replayed.extend(snapshot(trade) for trade in trades)
                    return []
                raise FrameError("unknown_message", f"kraken trade type {shown(kind)}")
            if channel in _QUIET_CHANNELS:
                return []
            if (msg.get("success") is False or "error" in msg or "Error" in msg
                    or msg.get("status") == "error" or msg.get("event") == "error"):
                reason = msg.get("error") or msg.get("Error") or msg.get("errorMessage")
                raise FrameError("venue_error", f"kraken error: {shown(reason)}")
            if "method" in msg or msg.get("event") in _QUIET_V1_EVENTS:
                return []  # v2 subscribe/pong responses, v1 control events
            raise FrameError("unknown_message", f"kraken message {shown(msg)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None

    def _parse_v1(self, msg: list) -> list[Trade]:
        if len(msg) < 4 or msg[-2] != "trade":
            raise FrameError("unknown_message", f"kraken v1 array {shown(msg)}")
        pair = msg[-1]
        return [(pair, price(row[0]), size(row[1]), side(_V1_SIDES, row[3]),
                 ns_from_decimal_seconds(row[2]), trade_id(row[6]) if len(row) > 6 else "", 0, -1, 1)
                for row in msg[1]]
