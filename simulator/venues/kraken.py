"""Kraken spot WebSocket v2 ``trade`` channel.

On connect a ``status`` frame; ``{"method":"subscribe","params":{"channel":"trade",
"symbol":[..],"snapshot":true}}`` gets one ack per symbol, then (if asked) a
``snapshot`` of the last 50 trades, then ``update`` frames that may batch several
trades. Subscribed connections get ``{"channel":"heartbeat"}`` every second;
``{"method":"ping"}`` is answered with ``pong``.
"""
from __future__ import annotations

import random

from simulator.clock import iso_now
from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "kraken"
SYMBOLS = ("BTC/USD", "ETH/USD", "SOL/USD")
BATCH = (1, 2, 1, 1, 3, 1, 4)

_ROW = ('{"symbol":"$symbol","side":"$side","price":$price,"qty":$size,"ord_type":"market",'
        '"trade_id":%(id)d,"timestamp":"%(iso_us)s"}')
LIVE = TradeTemplate('{"channel":"trade","type":"update","data":[$rows]}', _ROW, ("buy", "sell"))
SNAPSHOT = TradeTemplate('{"channel":"trade","type":"snapshot","data":[$rows]}', _ROW, ("buy", "sell"))
SNAPSHOT_TRADES = 50
HEARTBEAT_S = 1.0


class Session(BaseSession):
    def opened(self, path: str) -> None:
        self.send({"channel": "status", "type": "update", "data": [{
            "api_version": "v2", "connection_id": random.getrandbits(63), "system": "online", "version": "2.0.10"}]})

    def received(self, text: str) -> None:
        """{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true},"req_id":1}"""
        time_in = iso_now()
        request = self.load(text)
        if type(request) is not dict:
            self.send({"error": "Malformed request", "success": False, "time_in": time_in, "time_out": iso_now()})
            return
        method, req_id = request.get("method"), request.get("req_id")
        reply = {"method": method, "req_id": req_id} if req_id is not None else {"method": method}
        if method == "ping":
            self.send({"method": "pong", **({"req_id": req_id} if req_id is not None else {}),
                       "time_in": time_in, "time_out": iso_now()})
            return
        if method not in ("subscribe", "unsubscribe"):
            self.send({**reply, "error": f"Method not found: {method}", "success": False,
                       "time_in": time_in, "time_out": iso_now()})
            return
        params = request.get("params") if type(request.get("params")) is dict else {}
        if params.get("channel") != "trade":
            self.send({**reply, "error": f"Channel not supported: {params.get('channel')}", "success": False,
                       "time_in": time_in, "time_out": iso_now()})
            return
        snapshot = params.get("snapshot") is True
        for name in params.get("symbol") or []:
            self._one(method, str(name), snapshot, reply, time_in)
        if self.subscriptions and "heartbeat" not in self.timers:
            self.set_timer("heartbeat", HEARTBEAT_S)

    def _one(self, method: str, name: str, snapshot: bool, reply: dict, time_in: str) -> None:
        symbol = self.find(name)
        if symbol is None:
            error = f"Currency pair not supported {name}"
        elif method == "subscribe" and name in self.subscriptions:
            error = "Already subscribed"
        elif method == "unsubscribe" and name not in self.subscriptions:
            error = "Subscription Not Found"
        else:
            error = None
        if error is not None:
            self.send({**reply, "error": error, "success": False, "symbol": name,
                       "time_in": time_in, "time_out": iso_now()})
            return
        result = {"channel": "trade", "symbol": name}
        if method == "subscribe":
            result["snapshot"] = snapshot
            sub = self.subscribe(symbol, LIVE, name)
        else:
            self.unsubscribe(name)
        self.send({**reply, "result": result, "success": True, "time_in": time_in, "time_out": iso_now()})
        if method == "subscribe" and snapshot:
            self.replay(sub, SNAPSHOT, SNAPSHOT_TRADES)

    def on_timer(self, name: str, now: float) -> None:
        if name == "heartbeat" and self.subscriptions:
            self.send('{"channel":"heartbeat"}')
            self.set_timer("heartbeat", HEARTBEAT_S)
