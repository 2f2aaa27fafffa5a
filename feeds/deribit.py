"""Deribit JSON-RPC ``trades.{instrument}.{interval}`` subscription.

The server sends ``test_request`` heartbeats after ``public/set_heartbeat``; each
must be answered with ``public/test`` (queued on ``Parser.replies``) or the
socket is closed.
"""
from __future__ import annotations

import orjson

from feeds.compiled import scan
from feeds.hot_path import HotPathParser
from feeds.normalize import (MAX_NS, SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, price, sequence,
                             side, size, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown

NAME = "deribit"
URL = "wss://www.deribit.com/ws/api/v2"
DEFAULT_SYMBOLS = ["BTC-PERPETUAL", "ETH-PERPETUAL"]  # as the venue writes them
MAX_LIFETIME_S = None  # no documented connection lifetime
INTERVAL = "100ms"  # "raw" needs an authenticated connection
CHANNELS_PER_MESSAGE = 500
HEARTBEAT_S = 10  # minimum the venue accepts
PING_TEXT = None  # the server drives the heartbeat (test_request every HEARTBEAT_S)
PING_INTERVAL_S = None
STALE_AFTER_S = 30.0
SEQ_IS_TRADE_ID = False  # ``seq`` is ``trade_seq``, not the trade id
SYMBOL_CASE = "upper"  # canonical symbol form (feeds/canonical.py)

_SIDES = {"buy": BUY, "sell": SELL}  # direction: side of the taker
_TRADES = "trades."
_INF = float("inf")
_MAX_MS = MAX_NS // 1_000_000  # later times do not fit a tick's int64 ns


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``public/subscribe`` to ``trades.{instrument}.100ms``, 500 channels per call."""
    channels = [f"{_TRADES}{symbol}.{INTERVAL}" for symbol in symbols]
    return [orjson.dumps({"jsonrpc": "2.0", "id": 2 + n, "method": "public/subscribe",
                          "params": {"channels": channels[i:i + CHANNELS_PER_MESSAGE]}}).decode()
            for n, i in enumerate(range(0, len(channels), CHANNELS_PER_MESSAGE))]


def on_connect_messages() -> list[str]:
    """Turn on server heartbeats (then answer each ``test_request``)."""
    return [orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "public/set_heartbeat",
                          "params": {"interval": HEARTBEAT_S}}).decode()]


def _usual(msg: object) -> list[Trade] | None:
    """A ``subscription`` to trades whose every field has its usual form (numbers, integer ms and
    ``trade_seq``, a text id), as ``parse_careful`` would build it; None on any doubt."""
    try:
        if type(msg) is not dict or msg.get("method") != "subscription":
            return None
        params = msg["params"]
        channel, rows = params["channel"], params["data"]
        if type(channel) is not str or not channel.startswith(_TRADES) or type(rows) is not list:
            return None
        trades = []
        keep = trades.append
        for row in rows:
            if type(row) is not dict:
                return None
            p, q, ms, tid, seq = row["price"], row["amount"], row["timestamp"], row["trade_id"], row["trade_seq"]
            kind_p, kind_q = type(p), type(q)
            if not ((kind_p is float or kind_p is int) and (kind_q is float or kind_q is int) and type(ms) is int
                    and type(tid) is str and tid and type(seq) is int and 0 <= ms <= _MAX_MS and 0 <= seq <= MAX_NS):
                return None
            price_, size_ = float(p), float(q)
            if not (0.0 < price_ < _INF and 0.0 < size_ < _INF):
                return None
            keep((row["instrument_name"], price_, size_, _SIDES[row["direction"]], ms * 1_000_000,
                  tid, 0, seq, 1))
        return trades
    except Exception:  # noqa: BLE001 - a missing key, an unhashable side ...: the careful path says what
        return None


class Parser(HotPathParser):
    """Queues a ``public/test`` reply on ``replies`` for every ``test_request``.

    {"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.raw",
    "data":[{"trade_seq":40781986,"trade_id":"66460463","timestamp":1584058044032,"tick_direction":3,
    "price":4469.5,"liquidation":"T","instrument_name":"BTC-PERPETUAL","index_price":4805.41,
    "direction":"sell","amount":1120}]}}
    """

    usual = staticmethod(_usual)  # the hot path (feeds/hot_path.py)
    scanned = scan.deribit if scan is not None else None  # the compiled hot path (feeds/_scan.c), where built

    def __init__(self) -> None:
        super().__init__()
        self.next_request_id = 1_000_000  # ids of our replies, apart from the subscribe ids

    def parse_careful(self, frame: str | bytes) -> list[Trade]:
        """``parse`` without its hot path: each field converted and checked in turn (tests compare the two)."""
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            method = msg.get("method")
            if method == "subscription":
                params = msg["params"]
                if not params["channel"].startswith(_TRADES):
                    raise FrameError("unknown_message", f"deribit channel {shown(params['channel'])}")
                return [(row["instrument_name"], price(row["price"]), size(row["amount"]),
                         side(_SIDES, row["direction"]), ns_from_ms(row["timestamp"]),
                         trade_id(row["trade_id"]), 0, sequence(row["trade_seq"]), 1) for row in params["data"]]
            if method == "heartbeat":
                if msg["params"]["type"] == "test_request":
                    self.replies.append(orjson.dumps({"jsonrpc": "2.0", "id": self.next_request_id,
                                                      "method": "public/test", "params": {}}).decode())
                    self.next_request_id += 1
                return []
            if "error" in msg:
                error = msg["error"]
                raise FrameError("venue_error", f"deribit error {shown(error.get('code'))}: {shown(error.get('message'))} "
                                                f"{shown(error.get('data', ''))}")
            if "result" in msg:
                return []  # responses to subscribe / set_heartbeat / test
            raise FrameError("unknown_message", f"deribit message {shown(msg)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
