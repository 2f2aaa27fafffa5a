"""BitMEX ``trade`` table. ``partial`` (the table image on subscribe) is a replay."""
from __future__ import annotations

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_iso, price, side, size,
                             trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown, snapshot
from feeds.venue_form import op_subscribe

NAME = "bitmex"
URL = "wss://ws.bitmex.com/realtime"
DEFAULT_SYMBOLS = ["XBTUSD", "ETHUSD"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
ARGS_PER_MESSAGE = 10
PING_TEXT = "ping"  # plain text, answered "pong"; the venue asks for it after 5 s of silence
PING_INTERVAL_S = 5.0
STALE_AFTER_S = 15.0
SEQ_IS_TRADE_ID = False
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)

_SIDES = {"Buy": BUY, "Sell": SELL}  # used as the taker side (cryptofeed, tardis)
_INF = float("inf")


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``{"op":"subscribe","args":["trade:XBTUSD",...]}``, 10 topics per message."""
    topics = [f"trade:{symbol}" for symbol in symbols]
    return op_subscribe(topics, ARGS_PER_MESSAGE)


def on_connect_messages() -> list[str]:
    return []


def _usual(msg: object) -> list[Trade] | None:
    """An ``insert`` whose every field has its usual form (numbers, a text id, an ISO time in UTC), as
    ``parse_careful`` would build it; None on any doubt."""
    try:
        if type(msg) is not dict or msg.get("table") != "trade" or msg["action"] != "insert":
            return None
        rows = msg["data"]
        if type(rows) is not list:
            return None
        trades = []
        keep = trades.append
        for row in rows:
            if type(row) is not dict:
                return None
            p, q, tid = row["price"], row["size"], row["trdMatchID"]
            kind_p, kind_q = type(p), type(q)
            if not ((kind_p is float or kind_p is int) and (kind_q is float or kind_q is int) and type(tid) is str
                    and tid):
                return None
            price_, size_ = float(p), float(q)
            if not (0.0 < price_ < _INF and 0.0 < size_ < _INF):
                return None
            keep((row["symbol"], price_, size_, _SIDES[row["side"]], ns_from_iso(row["timestamp"]),
                  tid, 0, -1, 1))
        return trades
    except Exception:  # noqa: BLE001 - a missing key, a bad time ...: the careful path says what
        return None


class Parser(HotPathParser):
    """``insert`` is live, ``partial`` is a replay.

    {"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:19.764Z","symbol":"MATICUSDT",
    "side":"Sell","size":1199,"price":0.8795,"tickDirection":"PlusTick",
    "trdMatchID":"3b2d6d74-b858-2413-ec15-715b1e7a251c","grossValue":10545205,
    "homeNotional":3857.7863577863577,"foreignNotional":3392.923101673102}]}
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.bitmex if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path: each field converted and checked in turn (tests compare the two)."""
        if frame == "pong" or frame == b"pong":
            return []
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            if msg.get("table") == "trade":
                action = msg["action"]
                if action != "insert" and action != "partial":
                    raise FrameError("unknown_message", f"bitmex trade action {shown(action)}")
                trades = [(row["symbol"], price(row["price"]), size(row["size"]), side(_SIDES, row["side"]),
                           ns_from_iso(row["timestamp"]), trade_id(row["trdMatchID"]), 0, -1, 1) for row in msg["data"]]
                if action == "insert":
                    return trades
                self.replayed.extend([snapshot(trade) for trade in trades])
                return []
            if "error" in msg:
                raise FrameError("venue_error", f"bitmex error {shown(msg.get('status'))}: {shown(msg['error'])}")
            if "info" in msg or "success" in msg:
                return []  # welcome, subscribe ack
            raise FrameError("unknown_message", f"bitmex message {shown(msg)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
