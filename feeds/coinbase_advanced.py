"""Coinbase Advanced Trade ``market_trades`` channel: the other Coinbase protocol (feeds/venues.py ``PROTOCOLS``).

Same exchange id and symbols as feeds/coinbase.py (the Exchange feed's ``match``); chosen by
``--protocol advanced`` or by a URL whose host or path contains ``advanced-trade``.

- Subscribe: one channel per message, ``market_trades`` and ``heartbeats`` (without heartbeats
  Coinbase closes channels after 60-90 s without updates).
- ``events[].type``: ``snapshot`` (recent trades, sent on subscribe: replayed, FLAG_SNAPSHOT) or
  ``update`` (live, trades collected over 250 ms: several per message).
- ``side`` ``BUY``/``SELL`` is taken as the TAKER's side, as cryptofeed and ccxt do: Coinbase does
  not document whether it is the maker's or the taker's (not verified).
- ``trade_id`` is text; a decimal one is also the per-product sequence for gap checks. Trades of
  one event are handed over oldest first (sorted by that sequence, then time): the order inside a
  message is not documented.
"""
from __future__ import annotations

import orjson

from feeds.normalize import SHAPE_ERRORS, load_json, missing, not_json_object, ns_from_iso, price, sequence, side, size, trade_id
from feeds.trade import BUY, SELL, FrameError, Trade, shown
from feeds.venue_form import ParserOutboxes
from shm.flags import FLAG_SNAPSHOT

NAME = "coinbase"  # the same venue as feeds/coinbase.py: one ring, one exchange id
URL = "wss://advanced-trade-ws.coinbase.com"
URL_HINT = "advanced-trade"  # a URL whose host or path contains this picks this protocol
DEFAULT_SYMBOLS = ["BTC-USD", "ETH-USD"]
MAX_LIFETIME_S = None  # no documented connection lifetime
PING_TEXT = None  # the heartbeats channel sends one frame a second
PING_INTERVAL_S = None
STALE_AFTER_S = 10.0
SEQ_IS_TRADE_ID = True  # ``seq`` is the numeric ``trade_id``
SYMBOL_CASE = "upper"

_SIDES = {"BUY": BUY, "SELL": SELL}  # taken as the taker's side (not documented by Coinbase)
_QUIET = frozenset(("subscriptions", "heartbeats"))


def url_for(base_url: str, symbols: list[str]) -> str:
    return base_url


def subscribe_messages(symbols: list[str]) -> list[str]:
    """One channel per message (8 unauthenticated messages/s per IP: two is well inside)."""
    return [orjson.dumps({"type": "subscribe", "product_ids": list(symbols), "channel": channel}).decode()
            for channel in ("market_trades", "heartbeats")]


def on_connect_messages() -> list[str]:
    return []


def _order(trade: Trade) -> tuple[int, int]:
    return trade[7], trade[4]  # seq, ts_ns


class Parser(ParserOutboxes):
    """``update`` events are live; ``snapshot`` events (on subscribe) are replays."""

    def parse(self, frame: str | bytes) -> list[Trade]:
        """{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":0,
        "events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01",
        "size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}
        """
        msg = load_json(frame)
        if type(msg) is not dict:
            raise not_json_object(frame)
        try:
            channel = msg.get("channel")
            if channel == "market_trades":
                return self._market_trades(msg["events"])
            if channel in _QUIET:
                return []
            if msg.get("type") == "error":
                raise FrameError("venue_error", f"coinbase error: {shown(msg.get('message'))}")
            if channel is None:
                raise FrameError("unknown_message",
                                 f"coinbase advanced message without a channel: type {shown(msg.get('type'))}")
            raise FrameError("unknown_message", f"coinbase advanced channel {shown(channel)}")
        except SHAPE_ERRORS as exc:
            raise missing(exc) from None

    def _market_trades(self, events: object) -> list[Trade]:
        """Every trade of every event, or a FrameError and nothing (a frame is used whole or not at all)."""
        if type(events) is not list:
            raise FrameError("missing_field", f"events {shown(events)} is not a list")
        live: list[Trade] = []
        replayed: list[Trade] = []
        for event in events:
            kind = event["type"]
            if kind == "update":
                out, flags = live, 0
            elif kind == "snapshot":
                out, flags = replayed, FLAG_SNAPSHOT
            else:
                raise FrameError("unknown_message", f"coinbase advanced market_trades event type {shown(kind)}")
            rows = event["trades"]
            if type(rows) is not list:
                raise FrameError("missing_field", f"trades {shown(rows)} is not a list")
            trades = [(row["product_id"], price(row["price"]), size(row["size"]), side(_SIDES, row["side"]),
                       ns_from_iso(row["time"]), trade_id(row["trade_id"]), flags, sequence(row["trade_id"]), 1)
                      for row in rows]
            if len(trades) > 1:
                trades.sort(key=_order)
            out.extend(trades)
        self.replayed.extend(replayed)
        return live
