"""Coinbase Exchange ``matches`` channel (ws-feed). ``side`` is the MAKER's side."""
from __future__ import annotations

import orjson

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_iso, price, sequence,
                             side, size, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown, snapshot

NAME = "coinbase"
URL = "wss://ws-feed.exchange.coinbase.com"
DEFAULT_SYMBOLS = ["BTC-USD", "ETH-USD"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
PING_TEXT = None  # the heartbeat channel sends one frame per product per second
PING_INTERVAL_S = None
STALE_AFTER_S = 10.0
SEQ_IS_TRADE_ID = True  # ``seq`` is the numeric ``trade_id``
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)

_TAKER_SIDES = {"buy": SELL, "sell": BUY}  # maker bought => the taker sold
_QUIET = frozenset(("subscriptions", "heartbeat"))
_INF = float("inf")


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """Must be sent within 5 s of connecting. The heartbeat channel (one frame a second per product it
    names) only shows the connection is alive: one product is enough, not one frame per product."""
    return [orjson.dumps({"type": "subscribe", "product_ids": list(symbols),
                          "channels": ["matches", {"name": "heartbeat", "product_ids": list(symbols[:1])}]}).decode()]


def on_connect_messages() -> list[str]:
    return []


def _usual(msg: object) -> list[Trade] | None:
    """A ``match`` whose every field has its usual form (text price and size, an integer trade id, an ISO time
    in UTC), as the careful path would build it; None on any doubt."""
    try:
        if msg.get("type") != "match":
            return None
        p, q, tid = msg["price"], msg["size"], msg["trade_id"]
        if not (type(p) is str and type(q) is str and type(tid) is int and "_" not in p and "_" not in q
                and 0 <= tid <= MAX_NS):
            return None
        price_, size_ = float(p), float(q)  # ValueError: a doubt
        if not (0.0 < price_ < _INF and 0.0 < size_ < _INF):
            return None
        return [(msg["product_id"], price_, size_, _TAKER_SIDES[msg["side"]],
                 ns_from_iso(msg["time"]), str(tid), 0, tid, 1)]
    except Exception:  # noqa: BLE001 - a missing key, a bad time ...: the careful path says what
        return None


class Parser(HotPathParser):
    """``match`` is live; ``last_match`` (first frame per product) is a replay.

    {"type":"match","trade_id":280232,"maker_order_id":"2a0da34e-61f7-4c36-88e5-c9dd15927b16",
    "taker_order_id":"3c82abaa-c01e-4608-be59-6a1e69742891","side":"sell","size":"985","price":"0.00001305",
    "product_id":"SKL-BTC","sequence":177100030,"time":"2021-04-17T16:43:37.089723Z"}
    (maker sold, so the taker BOUGHT)
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.coinbase if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path (tests compare the two)."""
        return self.careful(load_json(frame), frame)

    def careful(self, msg: object, frame: str | bytes) -> list[Trade]:
        """The careful path, given the decoded frame (heartbeats, acks): each field
        converted and checked in turn."""
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            kind = msg.get("type")
            if kind == "match" or kind == "last_match":
                trade = (msg["product_id"], price(msg["price"]), size(msg["size"]),
                         side(_TAKER_SIDES, msg["side"]), ns_from_iso(msg["time"]),
                         trade_id(msg["trade_id"]), 0, sequence(msg["trade_id"]), 1)
                if kind == "match":
                    return [trade]
                self.replayed.append(snapshot(trade))
                return []
            if kind in _QUIET:
                return []
            if kind == "error":
                raise FrameError("venue_error", f"coinbase error: {shown(msg.get('message'))} {shown(msg.get('reason', ''))}")
            raise FrameError("unknown_message", f"coinbase message type {shown(kind)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
