"""Coinbase Advanced Trade ``market_trades`` (+ ``heartbeats``): the simulated Coinbase endpoint serves
it to connections whose path contains ``advanced-trade`` (simulator/venues/coinbase.py ``session_class``).

One channel per subscribe message. A ``subscriptions`` message answers each request; each new
product then gets a ``snapshot`` event (its recent trades, newest first) before live ``update``
events, which carry several trades each (the venue collects 250 ms of trades per message: here a
cycle of ``BATCH`` sizes, as the Exchange feed on the same endpoint sends one trade per frame).
``side`` is the taker's side (as cryptofeed/ccxt read it). The ``heartbeats`` channel sends one
message a second; without it, the ``market_trades`` channel closes after ``IDLE_CLOSE_S`` without
updates (the venue's 60-90 s). An unknown product or channel is an ``error`` message.
``sequence_num`` counts the connection's control messages; on trade messages it is one of the
message's trade ids (not the venue's per-connection counter, which the feed does not read).
"""
from __future__ import annotations

from simulator.clock import iso_now
from simulator.session import Session as BaseSession
from simulator.templates import BoundTemplate, TradeTemplate

NAME = "coinbase"
SYMBOLS = ("BTC-USD", "ETH-USD", "SOL-USD")
BATCH = (3, 1, 5, 2)  # trades per live message, cycled per subscription
SNAPSHOT_TRADES = 5
HEARTBEAT_S = 1.0
IDLE_CLOSE_S = 75.0
CHANNELS = ("market_trades", "heartbeats")

TAKER_SIDES = ("BUY", "SELL")
_ROW = ('{"trade_id":"%(id)d","product_id":"$symbol","price":"$price","size":"$size","side":"$side",'
        '"time":"%(iso_us)s"}')
_FRAME = ('{"channel":"market_trades","client_id":"","timestamp":"%(iso_us)s","sequence_num":%(id)d,'
          '"events":[{"type":"$event","trades":[$rows]}]}')


class BatchedTemplate(TradeTemplate):
    """A trade frame whose subscriptions batch ``BATCH`` trades per message on an endpoint that sends one."""

    def bind(self, symbol, /, **names: str) -> BoundTemplate:
        names.setdefault("symbol", symbol.name)
        return _BatchedBound(self, symbol.quotes, names)


class _BatchedBound(BoundTemplate):
    def __init__(self, template, quotes, names):
        super().__init__(template, quotes, names)
        self.turn = 0

    def render(self, first_id, count, sizes, values):
        if sizes is None:  # the endpoint asks for one trade per frame (the Exchange feed's cycle)
            sizes = []
            left = count
            while left > 0:
                size = min(BATCH[self.turn % len(BATCH)], left)
                self.turn += 1
                sizes.append(size)
                left -= size
        return super().render(first_id, count, sizes, values)


LIVE = BatchedTemplate(_FRAME.replace("$event", "update"), _ROW, TAKER_SIDES)
SNAPSHOT = TradeTemplate(_FRAME.replace("$event", "snapshot"), _ROW, TAKER_SIDES)


class Session(BaseSession):
    def opened(self, path: str) -> None:
        self.heartbeats = False
        self.sequence_num = 0
        self.counter = 0

    def received(self, text: str) -> None:
        """{"type":"subscribe","product_ids":["BTC-USD"],"channel":"market_trades"}"""
        request = self.load(text)
        if type(request) is not dict or request.get("type") not in ("subscribe", "unsubscribe"):
            self._error("failure to parse message: expected a subscribe or unsubscribe message")
            return
        channel, products = request.get("channel"), request.get("product_ids") or []
        if channel not in CHANNELS or type(products) is not list:
            self._error(f"failure to subscribe: channel {channel!r} is not valid")
            return
        if channel == "heartbeats":
            self.heartbeats = request["type"] == "subscribe"
            if self.heartbeats and "heartbeat" not in self.timers:
                self.set_timer("heartbeat", HEARTBEAT_S)
            self._subscriptions()
            return
        for product in products:
            if type(product) is not str or self.find(product) is None:
                self._error(f"failure to subscribe: {product!r} is not a valid product")
                return
        fresh = []
        for product in products:
            if request["type"] == "unsubscribe":
                self.unsubscribe(product)
            elif product not in self.subscriptions:
                fresh.append(self.subscribe(self.find(product), LIVE, product))
        self._subscriptions()
        for sub in fresh:
            self.replay(sub, SNAPSHOT, SNAPSHOT_TRADES, newest_first=True)
        if self.subscriptions:
            self._watch_idle()

    def _watch_idle(self) -> None:
        self.idle_ids = self._last_ids()
        self.set_timer("idle", IDLE_CLOSE_S)

    def _last_ids(self) -> tuple[int, ...]:
        return tuple(sub.symbol.next_id for sub in self.subscriptions.values())

    def on_timer(self, name: str, now: float) -> None:
        if name == "heartbeat" and self.heartbeats:
            self.counter += 1
            self._send("heartbeats", [{"current_time": iso_now(9).replace("T", " ")[:-1] + " +0000 UTC",
                                       "heartbeat_counter": str(self.counter)}])
            self.set_timer("heartbeat", HEARTBEAT_S)
        elif name == "idle" and self.subscriptions:
            if self.heartbeats or self._last_ids() != self.idle_ids:
                self._watch_idle()
            else:  # the channel closes: its subscriptions end, the socket stays open
                for key in list(self.subscriptions):
                    self.unsubscribe(key)
                self._subscriptions()

    def _subscriptions(self) -> None:
        current = {"market_trades": list(self.subscriptions)}
        if self.heartbeats:
            current["heartbeats"] = ["heartbeats"]
        self._send("subscriptions", [{"subscriptions": current}])

    def _send(self, channel: str, events: list) -> None:
        self.sequence_num += 1
        self.send({"channel": channel, "client_id": "", "timestamp": iso_now(9), "sequence_num": self.sequence_num,
                   "events": events})

    def _error(self, message: str) -> None:
        self.send({"type": "error", "message": message})
