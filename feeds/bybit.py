"""Bybit v5 public ``publicTrade.{symbol}``. Every push says ``type:"snapshot"``: all are LIVE."""
from __future__ import annotations

from feeds.normalize import SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, price, side, size, trade_id
from feeds.trade import BUY, SELL, FrameError, Trade, shown
from feeds.venue_form import ParserOutboxes, op_subscribe

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


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``{"op":"subscribe","args":["publicTrade.BTCUSDT",...]}``, 10 topics per request."""
    topics = [f"publicTrade.{symbol}" for symbol in symbols]
    return op_subscribe(topics, ARGS_PER_MESSAGE)


def on_connect_messages() -> list[str]:
    return []


class Parser(ParserOutboxes):
    """Stateless apart from the outboxes every venue parser has."""

    def parse(self, frame: str | bytes) -> list[Trade]:
        """{"topic":"publicTrade.BTCUSDC","ts":1680688980000,"type":"snapshot","data":[{"i":"2240000000041223438",
        "T":1680688979998,"p":"28528.98","v":"0.00433","S":"Buy","s":"BTCUSDC","BT":false}]}
        """
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            topic = msg.get("topic")
            if topic is not None and topic.startswith("publicTrade."):
                return [Trade(row["s"], price(row["p"]), size(row["v"]), side(_SIDES, row["S"]),
                              ns_from_ms(row["T"]), trade_id(row["i"])) for row in msg["data"]]
            if msg.get("success") is False:
                raise FrameError("venue_error", f"bybit error: {shown(msg.get('ret_msg'))}")
            if "op" in msg or "success" in msg:
                return []  # subscribe ack, pong
            raise FrameError("unknown_message", f"bybit message {shown(msg)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None
