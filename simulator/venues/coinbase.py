"""Coinbase Exchange ws-feed ``matches`` (+ ``heartbeat``), one trade per frame.

Subscribe within 5 s or the connection is closed. The ack lists every current
subscription; each product then gets ``last_match`` (a replay of the previous
trade) before live ``match`` frames. ``side`` is the MAKER's side. An unknown
product fails the whole request with an ``error`` frame. The heartbeat channel
sends one frame per product per second with ``last_trade_id``.

The same endpoint serves Coinbase Advanced Trade ``market_trades`` (simulator/venues/coinbase_advanced.py)
to a connection whose path contains ``advanced-trade`` (``ws://HOST:PORT/advanced-trade``): one market,
one trade id sequence, counted together.
"""
from __future__ import annotations

from simulator.clock import iso_now
from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "coinbase"
SYMBOLS = ("BTC-USD", "ETH-USD", "SOL-USD")
BATCH = (1,)

MAKER_SIDES = ("sell", "buy")  # a taker buy fills a resting sell
_ROW = ('{"type":"$type","trade_id":%(id)d,"maker_order_id":"5e1a6d2c-0b1f-4c3e-9a7d-%(id)012x",'
        '"taker_order_id":"7c2b9e4f-3d5a-4e6b-8f1c-%(id)012x","side":"$side","size":"$size","price":"$price",'
        '"product_id":"$symbol","sequence":%(id)d7,"time":"%(iso_us)s"}')  # sequence: full-feed, gaps are normal
LIVE = TradeTemplate("$rows", _ROW.replace("$type", "match"), MAKER_SIDES)
LAST_MATCH = TradeTemplate("$rows", _ROW.replace("$type", "last_match"), MAKER_SIDES)
CHANNELS = ("matches", "heartbeat")
SUBSCRIBE_WITHIN_S = 5.0
HEARTBEAT_S = 1.0


def session_class(path: str) -> type[BaseSession]:
    """The protocol a connection speaks, by its request path."""
    if "advanced-trade" in path:
        from simulator.venues import coinbase_advanced

        return coinbase_advanced.Session
    return Session


class Session(BaseSession):
    def opened(self, path: str) -> None:
        self.heartbeats: list[str] = []  # products on the heartbeat channel
        self.set_timer("subscribe_deadline", SUBSCRIBE_WITHIN_S)

    def received(self, text: str) -> None:
        """{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches","heartbeat"]}"""
        request = self.load(text)
        if type(request) is not dict or request.get("type") not in ("subscribe", "unsubscribe"):
            self._error("Failed to parse request", "expected a subscribe or unsubscribe message")
            return
        pairs = self._pairs(request)
        if pairs is None:
            return
        fresh = []
        for channel, product in pairs:
            if request["type"] == "unsubscribe":
                if channel == "matches":
                    self.unsubscribe(product)
                elif product in self.heartbeats:
                    self.heartbeats.remove(product)
            elif channel == "matches" and product not in self.subscriptions:
                fresh.append(self.subscribe(self.find(product), LIVE, product))
            elif channel == "heartbeat" and product not in self.heartbeats:
                self.heartbeats.append(product)
        self.cancel_timer("subscribe_deadline")
        self.send({"type": "subscriptions", "channels": [
            {"name": "matches", "product_ids": list(self.subscriptions)},
            {"name": "heartbeat", "product_ids": list(self.heartbeats)}]})
        for sub in fresh:
            self.replay(sub, LAST_MATCH, 1)
        if self.heartbeats and "heartbeat" not in self.timers:
            self.set_timer("heartbeat", HEARTBEAT_S)

    def _pairs(self, request: dict) -> list[tuple[str, str]] | None:
        """(channel, product) pairs of a request, or None after an error frame."""
        pairs = []
        default_products = request.get("product_ids") or []
        for channel in request.get("channels") or []:
            name, products = ((channel.get("name"), channel.get("product_ids") or default_products)
                              if type(channel) is dict else (channel, default_products))
            if name not in CHANNELS:
                self._error("Failed to subscribe", f"{name} is not a valid channel")
                return None
            for product in products:
                if type(product) is not str or self.find(product) is None:
                    self._error("Failed to subscribe", f"{product} is not a valid product")
                    return None
                pairs.append((name, product))
        return pairs

    def on_timer(self, name: str, now: float) -> None:
        if name == "subscribe_deadline" and not self.subscriptions and not self.heartbeats:
            self.close(1008, "no subscribe message within 5 s")
        elif name == "heartbeat" and self.heartbeats:
            for product in self.heartbeats:
                last = self.find(product).next_id - 1
                self.send({"type": "heartbeat", "last_trade_id": last, "product_id": product,
                           "sequence": last * 10 + 7, "time": iso_now()})
            self.set_timer("heartbeat", HEARTBEAT_S)

    def _error(self, message: str, reason: str) -> None:
        self.send({"type": "error", "message": message, "reason": reason})
