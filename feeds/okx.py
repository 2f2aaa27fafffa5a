"""OKX v5 public ``trades`` channel (aggregated per taker order and price)."""
from __future__ import annotations

from feeds.normalize import (SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_ms, price, sequence, side, size,
                             span, trade_id)
from feeds.trade import BUY, SELL, FrameError, Trade, shown
from feeds.venue_form import ParserOutboxes, op_subscribe

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


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """``{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},...]}`` in chunks."""
    args = [{"channel": "trades", "instId": symbol} for symbol in symbols]
    return op_subscribe(args, ARGS_PER_MESSAGE)


def on_connect_messages() -> list[str]:
    return []


class Parser(ParserOutboxes):
    """Stateless apart from the outboxes every venue parser has."""

    def parse(self, frame: str | bytes) -> list[Trade]:
        """{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
        "tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}
        """
        if frame == "pong" or frame == b"pong":
            return []
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            if "data" in msg and msg["arg"]["channel"] == "trades":
                return [Trade(row["instId"], price(row["px"]), size(row["sz"]), side(_SIDES, row["side"]),
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
