"""Bitstamp ``live_trades_{market}``; the symbol is the channel's suffix (``ethusd``)."""
from __future__ import annotations

import orjson

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_us, price, side, size,
                             trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown

NAME = "bitstamp"
URL = "wss://ws.bitstamp.net"
DEFAULT_SYMBOLS = ["btcusd", "ethusd"]  # as the venue writes them
MAX_LIFETIME_S = 90 * 24 * 3600.0  # maximum connection age
CHANNEL_PREFIX = "live_trades_"
PING_TEXT = '{"event":"bts:heartbeat"}'  # answered with bts:heartbeat; quiet markets idle ~50 s
PING_INTERVAL_S = 20.0
STALE_AFTER_S = 45.0
SEQ_IS_TRADE_ID = False
SYMBOL_CASE = "lower"  # canonical symbol form (feeds/canonical.py)

_SIDES = {0: BUY, 1: SELL}  # type: side of the taker
_QUIET_EVENTS = frozenset(("bts:subscription_succeeded", "bts:unsubscription_succeeded",
                           "bts:heartbeat", "bts:request_reconnect"))
_INF = float("inf")
_MAX_DIGITS = 20  # normalize's limit for digit text


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """One ``{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}`` per market (lowercase)."""
    return [orjson.dumps({"event": "bts:subscribe", "data": {"channel": CHANNEL_PREFIX + symbol.lower()}}).decode()
            for symbol in symbols]


def on_connect_messages() -> list[str]:
    return []


def _usual(msg: object) -> list[Trade] | None:
    """A ``trade`` whose every field has its usual form (text price and amount, a digit-string
    ``microtimestamp``), as ``parse_careful`` would build it; None on any doubt."""
    try:
        if type(msg) is not dict or msg.get("event") != "trade":
            return None
        channel, data = msg["channel"], msg["data"]
        if type(channel) is not str or not channel.startswith(CHANNEL_PREFIX) or type(data) is not dict:
            return None
        p = data["price_str"] if "price_str" in data else data["price"]
        q = data["amount_str"] if "amount_str" in data else data["amount"]
        us = data["microtimestamp"]
        tid = data["id_str"] if "id_str" in data else data["id"]
        if not (type(p) is str and type(q) is str and type(us) is str and "_" not in p and "_" not in q
                and len(us) <= _MAX_DIGITS and us.isdigit() and us.isascii()):
            return None
        price_, size_, ns = float(p), float(q), int(us) * 1_000  # ValueError: a doubt
        if type(tid) is int:
            tid = str(tid)
        elif type(tid) is not str or not tid:
            return None
        if not (0.0 < price_ < _INF and 0.0 < size_ < _INF and ns <= MAX_NS):
            return None
        return [(channel[len(CHANNEL_PREFIX):], price_, size_, _SIDES[data["type"]], ns, tid, 0, -1,
                 1)]
    except Exception:  # noqa: BLE001 - a missing key, an unhashable type ...: the careful path says what
        return None


class Parser(HotPathParser):
    """Stateless apart from the outboxes every venue parser has.

    {"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000",
    "price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000",
    "buy_order_id":1443875737346049,"sell_order_id":1443875731320832},
    "channel":"live_trades_ethusd","event":"trade"}
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.bitstamp if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path: each field converted and checked in turn (tests compare the two)."""
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            event = msg["event"]
            if event == "trade":
                channel = msg["channel"]
                if not channel.startswith(CHANNEL_PREFIX):
                    raise FrameError("unknown_message", f"bitstamp trade on channel {shown(channel)}")
                data = msg["data"]
                # the *_str twins hold the exact decimal text; perp ids > 2^53 come as id_str too
                return [(channel[len(CHANNEL_PREFIX):],
                         price(data["price_str"] if "price_str" in data else data["price"]),
                         size(data["amount_str"] if "amount_str" in data else data["amount"]),
                         side(_SIDES, data["type"]), ns_from_us(data["microtimestamp"]),
                         trade_id(data["id_str"] if "id_str" in data else data["id"]), 0, -1, 1)]
            if event in _QUIET_EVENTS:
                return []
            if event == "bts:error":
                raise FrameError("venue_error", f"bitstamp error: {shown(msg.get('data'))}")
            raise FrameError("unknown_message", f"bitstamp event {shown(event)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
