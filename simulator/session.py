"""A client connection's venue protocol: the base class every simulated venue fills in.

A venue module subclasses ``Session`` and overrides three hooks:

- ``opened(path)``: the WebSocket handshake is done (greeting frames, URL subscriptions),
- ``received(text)``: one text frame from the client (subscribe, ping, heartbeat answers),
- ``on_timer(name, now)``: a timer set with ``set_timer`` fired (heartbeats, deadlines),

using the helpers below to answer (``send``), subscribe the connection to a
symbol's live trades (``subscribe``), replay recent trades (``replay``) or end
the connection (``close``). Server WebSocket pings (``PROTOCOL_PING_S``) and
their pong deadline are handled here once for all venues.
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import orjson

from feeds.wsframe import PING, encode
from simulator.templates import BoundTemplate, TradeTemplate

if TYPE_CHECKING:
    from simulator.connection import Connection
    from simulator.endpoint import Endpoint
    from simulator.market import MarketSymbol


class Subscription:
    """One connection's subscription to one symbol: where its live trades go and how they look."""

    __slots__ = ("symbol", "session", "conn", "live", "key")

    def __init__(self, symbol: MarketSymbol, session: Session, live: BoundTemplate, key: str):
        self.symbol, self.session, self.conn, self.live, self.key = symbol, session, session.conn, live, key


class Session:
    """Per-connection protocol state; venue modules subclass it (see the module docstring)."""

    PROTOCOL_PING_S: float | None = None  # the server sends WebSocket pings this often
    PONG_TIMEOUT_S: float | None = None  # ...and closes when no pong came for this long

    def __init__(self, endpoint: Endpoint, conn: Connection):
        self.endpoint = endpoint
        self.conn = conn
        self.market = endpoint.market
        self.subscriptions: dict[str, Subscription] = {}  # key (e.g. the channel name) -> subscription
        self.timers: dict[str, float] = {}  # name -> time.monotonic() when due
        self.last_pong = time.monotonic()
        self.conn_id = os.urandom(4).hex()
        if self.PROTOCOL_PING_S:
            self.set_timer("protocol_ping", self.PROTOCOL_PING_S)

    # -- hooks for venues ---------------------------------------------------------------
    def opened(self, path: str) -> None:
        """The upgrade is done; ``path`` is the request target (``/stream?streams=...``)."""

    def received(self, text: str) -> None:
        """One text frame from the client."""

    def on_timer(self, name: str, now: float) -> None:
        """A timer set with ``set_timer`` is due."""

    # -- helpers ----------------------------------------------------------------------------
    def send(self, message: object) -> None:
        """A text frame: ``str`` as is, anything else as compact JSON. Counted as a control frame."""
        payload = message.encode() if type(message) is str else orjson.dumps(message)
        self.conn.send_control(encode(payload))

    @staticmethod
    def load(text: str) -> object | None:
        """The JSON in ``text``, or None when it is not JSON."""
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return None

    def scaled(self, seconds: float) -> float:
        """A venue keepalive period, times the simulator's heartbeat scale (tests shorten them)."""
        return seconds * self.endpoint.heartbeat_scale

    def set_timer(self, name: str, seconds: float) -> None:
        """Call ``on_timer(name)`` after ``seconds`` (venue time: scaled here)."""
        self.timers[name] = time.monotonic() + self.scaled(seconds)

    def cancel_timer(self, name: str) -> None:
        self.timers.pop(name, None)

    def find(self, name: str, ignore_case: bool = False) -> MarketSymbol | None:
        """The market symbol named ``name`` (as the venue writes it), or None when unknown."""
        return self.market.find(name, ignore_case)

    def subscribe(self, symbol: MarketSymbol, template: TradeTemplate, key: str, /, **names: str) -> Subscription:
        """Send ``symbol``'s live trades on this connection, written with ``template``."""
        self.unsubscribe(key)
        sub = Subscription(symbol, self, template.bind(symbol, **names), key)
        self.subscriptions[key] = sub
        symbol.subscriptions.append(sub)
        self.market.version += 1
        return sub

    def unsubscribe(self, key: str) -> Subscription | None:
        sub = self.subscriptions.pop(key, None)
        if sub is not None:
            sub.symbol.subscriptions.remove(sub)
            self.market.version += 1
        return sub

    def replay(self, sub: Subscription, template: TradeTemplate, count: int, newest_first: bool = False) -> None:
        """One frame with the ``count`` trades before the next live one (they happened a second
        ago), written with ``template``; counted as replayed, never as live."""
        ids = list(sub.symbol.recent_ids(count))
        if newest_first:
            ids.reverse()
        values = self.endpoint.clock.at(time.time_ns() - 1_000_000_000)
        payload = sub.live.payload(ids, values, template)
        self.conn.send_frame(encode(payload), sub.symbol.stats.add_replay, len(ids))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake (the venue ends the connection)."""
        self.conn.close(code, reason)

    # -- called by the connection and the endpoint -------------------------------------------
    def pong(self, payload: bytes) -> None:
        self.last_pong = time.monotonic()

    def tick(self, now: float) -> None:
        """Fire the due timers."""
        for name, due in list(self.timers.items()):
            if now >= due and self.timers.get(name) == due:
                del self.timers[name]
                if name == "protocol_ping":
                    self._protocol_ping(now)
                else:
                    self.on_timer(name, now)

    def shift(self, seconds: float) -> None:
        """Postpone every timer (the venue stalled for ``seconds``)."""
        for name in self.timers:
            self.timers[name] += seconds
        self.last_pong += seconds

    def ended(self) -> None:
        """The connection is closing: its subscriptions end now."""
        for key in list(self.subscriptions):
            self.unsubscribe(key)
        self.timers.clear()

    def _protocol_ping(self, now: float) -> None:
        if self.PONG_TIMEOUT_S and now - self.last_pong > self.scaled(self.PONG_TIMEOUT_S):
            self.close(1008, "pong timeout")
            return
        self.conn.send_control(encode(b"%d" % (time.time_ns() // 1_000_000), PING))
        self.set_timer("protocol_ping", self.PROTOCOL_PING_S)
