"""Deribit JSON-RPC 2.0: ``public/subscribe`` to ``trades.{instrument}.{interval}``.

Accepted channels come back in ``result``; an unknown instrument (or ``raw``, which
needs an authenticated connection) is silently left out, as on the venue.
Trade notifications batch several trades; ``trade_seq`` is consecutive per
instrument. ``public/set_heartbeat`` (interval >= 10 s) starts a
``test_request`` every interval; one not answered with ``public/test`` within
the interval closes the connection.
"""
from __future__ import annotations

import time

from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "deribit"
SYMBOLS = ("BTC-PERPETUAL", "ETH-PERPETUAL")
BATCH = (1, 2, 1, 4, 1, 1, 3)

LIVE = TradeTemplate(
    '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"$channel","data":[$rows]}}',
    '{"trade_seq":%(id)d,"trade_id":"%(id)d","timestamp":%(ms)s,"tick_direction":0,"price":$price,'
    '"mark_price":$price,"index_price":$price,"instrument_name":"$symbol","direction":"$side",'
    '"amount":$contracts,"contracts":$contracts}',
    ("buy", "sell"))
INTERVALS = ("100ms", "agg2")  # "raw" is for authenticated connections only
MIN_HEARTBEAT_S = 10
TEST_REQUEST = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'


class Session(BaseSession):
    def opened(self, path: str) -> None:
        self.heartbeat_s: float | None = None

    def received(self, text: str) -> None:
        """{"jsonrpc":"2.0","id":2,"method":"public/subscribe","params":{"channels":["trades.BTC-PERPETUAL.100ms"]}}
        -> {"jsonrpc":"2.0","id":2,"result":["trades.BTC-PERPETUAL.100ms"],...}"""
        us_in = time.time_ns() // 1000
        request = self.load(text)
        if type(request) is not dict:
            self._answer(None, us_in, error={"message": "bad_request", "data": "invalid json", "code": 11050})
            return
        method, request_id = request.get("method"), request.get("id")
        params = request.get("params") if type(request.get("params")) is dict else {}
        if method == "public/set_heartbeat":
            interval = params.get("interval")
            if type(interval) not in (int, float) or interval < MIN_HEARTBEAT_S:
                self._answer(request_id, us_in, error={"message": "Invalid params", "code": -32602, "data": {
                    "reason": f"must be >= {MIN_HEARTBEAT_S}", "param": "interval"}})
                return
            self.heartbeat_s = float(interval)
            self.set_timer("test_request", self.heartbeat_s)
            self._answer(request_id, us_in, result="ok")
        elif method == "public/disable_heartbeat":
            self.heartbeat_s = None
            self.cancel_timer("test_request")
            self.cancel_timer("test_deadline")
            self._answer(request_id, us_in, result="ok")
        elif method == "public/test":
            self.cancel_timer("test_deadline")
            self._answer(request_id, us_in, result={"version": "1.2.26"})
        elif method in ("public/subscribe", "public/unsubscribe"):
            channels = [channel for channel in params.get("channels") or [] if type(channel) is str]
            done = [channel for channel in channels if self._channel(method, channel)]
            self._answer(request_id, us_in, result=done)
        elif method == "public/get_time":
            self._answer(request_id, us_in, result=time.time_ns() // 1_000_000)
        else:
            self._answer(request_id, us_in, error={"message": "Method not found", "code": -32601})

    def _channel(self, method: str, channel: str) -> bool:
        """Subscribe or unsubscribe one channel; False when it is not served (left out of the result)."""
        if method == "public/unsubscribe":
            return self.unsubscribe(channel) is not None
        kind, _, rest = channel.partition(".")
        instrument, _, interval = rest.rpartition(".")
        symbol = self.find(instrument)
        if kind != "trades" or symbol is None or interval not in INTERVALS:
            return False
        if channel not in self.subscriptions:
            self.subscribe(symbol, LIVE, channel, channel=channel)
        return True

    def on_timer(self, name: str, now: float) -> None:
        if name == "test_request" and self.heartbeat_s:
            self.send(TEST_REQUEST)
            if "test_deadline" not in self.timers:
                self.set_timer("test_deadline", self.heartbeat_s)
            self.set_timer("test_request", self.heartbeat_s)
        elif name == "test_deadline":
            self.close(4000, "heartbeat close")

    def _answer(self, request_id: object, us_in: int, **outcome: object) -> None:
        us_out = time.time_ns() // 1000
        self.send({"jsonrpc": "2.0", "id": request_id, **outcome, "usIn": us_in, "usOut": us_out,
                   "usDiff": us_out - us_in, "testnet": False})
