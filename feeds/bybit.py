"""Bybit v5 public ``publicTrade.{symbol}``. Every push says ``type:"snapshot"``: all are LIVE."""
from __future__ import annotations

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, price, side, size,
                             trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown
from feeds.venue_form import op_subscribe

NAME = "bybit"
URL = "wss://stream.bybit.com/v5/public/spot"  # /linear, /inverse, /option through base_url
DEFAULT_SYMBOLS = ["BTCUSDT", "ETHUSDT"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
ARGS_PER_MESSAGE = 10  # spot limit per subscribe request
PING_TEXT = '{"op":"ping"}'  # recommended every 20 s; cut after 10 min without ping or data
PING_INTERVAL_S = 20.0
STALE_AFTER_S = 45.0
SEQ_IS_TRADE_ID = False
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)

_SIDES = {"Buy": BUY, "Sell": SELL}  # side of the taker
_INF = float("inf")
_MAX_MS = MAX_NS // 1_000_000  # later times do not fit a tick's int64 ns


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``{"op":"subscribe","args":["publicTrade.BTCUSDT",...]}``, 10 topics per request."""
    topics = [f"publicTrade.{symbol}" for symbol in symbols]
    return op_subscribe(topics, ARGS_PER_MESSAGE)


def on_connect_messages() -> list[str]:
    return []


def _message(msg: object, frame: str | bytes) -> list[Trade]:
    """The careful path: each field converted and checked in turn."""
    if type(msg) is not dict:
        raise not_json_object(frame)
    try:
        topic = msg.get("topic")
        if topic is not None and topic.startswith("publicTrade."):
            return [(row["s"], price(row["p"]), size(row["v"]), side(_SIDES, row["S"]),
                     ns_from_ms(row["T"]), trade_id(row["i"]), 0, -1, 1) for row in msg["data"]]
        if msg.get("success") is False:
            raise FrameError("venue_error", f"bybit error: {shown(msg.get('ret_msg'))}")
        if "op" in msg or "success" in msg:
            return []  # subscribe ack, pong
        raise FrameError("unknown_message", f"bybit message {shown(msg)}")
    except SHAPE_ERRORS as exc:
        raise missing(exc) from None


def _usual(msg: dict) -> list[Trade] | None:
    """A trade frame whose every field has its usual form (text price and size, an integer ms ``T``, a text
    id), as the careful path would build it; None on any doubt."""
    try:
        topic, rows = msg.get("topic"), msg["data"]
        if type(topic) is not str or not topic.startswith("publicTrade.") or type(rows) is not list:
            return None
        trades = []
        keep = trades.append
        for row in rows:
            if type(row) is not dict:
                return None
            p, v, ms, tid = row["p"], row["v"], row["T"], row["i"]
            if not (type(p) is str and type(v) is str and type(ms) is int and type(tid) is str and tid
                    and "_" not in p and "_" not in v and 0 <= ms <= _MAX_MS):
                return None
            price_, size_ = float(p), float(v)  # ValueError: a doubt
            if not (0.0 < price_ < _INF and 0.0 < size_ < _INF):
                return None
            keep((row["s"], price_, size_, _SIDES[row["S"]], ms * 1_000_000, tid, 0, -1, 1))
        return trades
    except Exception:  # noqa: BLE001 - a missing key, an unhashable side ...: the careful path says what
        return None


class Parser(HotPathParser):
    """Stateless apart from the outboxes every venue parser has.

    {"topic":"publicTrade.BTCUSDC","ts":1680688980000,"type":"snapshot","data":[{"i":"2240000000041223438",
    "T":1680688979998,"p":"28528.98","v":"0.00433","S":"Buy","s":"BTCUSDC","BT":false}]}
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.bybit if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built
    careful = staticmethod(_message)  # given the decoded frame: not decoded twice

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path (tests compare the two)."""
        return _message(load_json(frame), frame)
