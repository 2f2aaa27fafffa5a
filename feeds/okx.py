"""OKX v5 public ``trades`` channel (aggregated per taker order and price)."""
from __future__ import annotations

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, price, sequence,
                             side, size, span, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown
from feeds.venue_form import op_subscribe

NAME = "okx"
URL = "wss://ws.okx.com:8443/ws/v5/public"
DEFAULT_SYMBOLS = ["BTC-USDT", "ETH-USDT"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
ARGS_PER_MESSAGE = 100  # total request length must stay under 64 KB
PING_TEXT = "ping"  # plain text; the server answers "pong" and cuts after 30 s idle
PING_INTERVAL_S = 20.0
STALE_AFTER_S = 30.0
SEQ_IS_TRADE_ID = True  # ``seq`` is the numeric ``tradeId``
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)

_SIDES = {"buy": BUY, "sell": SELL}  # side of the taker
_INF = float("inf")
_MAX_DIGITS = 20  # normalize's limit for digit text
_MAX_MS = MAX_NS // 1_000_000  # later times do not fit a tick's int64 ns


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},...]}`` in chunks."""
    args = [{"channel": "trades", "instId": symbol} for symbol in symbols]
    return op_subscribe(args, ARGS_PER_MESSAGE)


def on_connect_messages() -> list[str]:
    return []


def _message(msg: object, frame: str | bytes) -> list[Trade]:
    """The careful path: each field converted and checked in turn."""
    if type(msg) is not dict:
        raise not_json_object(frame)
    try:
        if "data" in msg and msg["arg"]["channel"] == "trades":
            return [(row["instId"], price(row["px"]), size(row["sz"]), side(_SIDES, row["side"]),
                     ns_from_ms(row["ts"]), trade_id(row["tradeId"]), 0, sequence(row["tradeId"]),
                     span(row.get("count", 1))) for row in msg["data"]]
        event = msg.get("event")
        if event == "error":
            raise FrameError("venue_error", f"okx error {shown(msg.get('code'))}: {shown(msg.get('msg'))}")
        if event in ("subscribe", "unsubscribe", "notice", "channel-conn-count"):
            return []
        raise FrameError("unknown_message", f"okx message {shown(msg)}")
    except SHAPE_ERRORS as exc:
        raise missing(exc) from None


def _usual(msg: dict) -> list[Trade] | None:
    """A trades frame whose every field has its usual form (text numbers, a digit-string ``ts`` and
    ``tradeId``, ``count`` "1" or absent), as the careful path would build it; None on any doubt."""
    try:
        arg = msg["arg"]
        rows = msg["data"]
        if type(arg) is not dict or arg["channel"] != "trades" or type(rows) is not list:
            return None
        trades = []
        keep = trades.append
        for row in rows:
            if type(row) is not dict:
                return None
            px, sz, ts, tid, count = row["px"], row["sz"], row["ts"], row["tradeId"], row.get("count", 1)
            if not (type(px) is str and type(sz) is str and type(ts) is str and type(tid) is str
                    and "_" not in px and "_" not in sz and len(ts) <= _MAX_DIGITS and ts.isdigit() and ts.isascii()
                    and 0 < len(tid) <= _MAX_DIGITS and tid.isdigit() and tid.isascii()
                    and (count == "1" or count == 1 and type(count) is int)):
                return None
            price_, size_, ms, seq = float(px), float(sz), int(ts), int(tid)  # ValueError: a doubt
            if not (0.0 < price_ < _INF and 0.0 < size_ < _INF and ms <= _MAX_MS and seq <= MAX_NS):
                return None
            keep((row["instId"], price_, size_, _SIDES[row["side"]], ms * 1_000_000, tid, 0,
                  seq, 1))
        return trades
    except Exception:  # noqa: BLE001 - a missing key, an unhashable side ...: the careful path says what
        return None


class Parser(HotPathParser):
    """Stateless apart from the outboxes every venue parser has.

    {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
    "tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.okx if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built
    careful = staticmethod(_message)  # given the decoded frame: not decoded twice

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path (tests compare the two)."""
        if frame == "pong" or frame == b"pong":
            return []
        return _message(load_json(frame), frame)
