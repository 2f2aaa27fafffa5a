"""BitMEX realtime ``trade`` table.

A welcome ``info`` frame on connect; ``{"op":"subscribe","args":["trade:XBTUSD"]}``
gets one ack per topic, then the table image (``action:"partial"``, replaying the
last trades), then ``insert`` frames that may batch several trades. Text ``ping``
-> ``pong``. An unknown symbol gets a ``status:400`` error frame.
"""
from __future__ import annotations

from simulator.clock import iso_now
from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "bitmex"
SYMBOLS = ("XBTUSD", "ETHUSD", "SOLUSD")
BATCH = (1, 1, 2, 1, 1, 3, 1, 8)

SIDES = ("Buy", "Sell")
_ROW = ('{"timestamp":"%(iso_ms)s","symbol":"$symbol","side":"$side","size":$contracts,"price":$price,'
        '"tickDirection":"PlusTick","trdMatchID":"00000000-0000-4000-8000-%(id)012x","grossValue":$gross,'
        '"homeNotional":$size,"foreignNotional":$contracts}')
LIVE = TradeTemplate('{"table":"trade","action":"insert","data":[$rows]}', _ROW, SIDES)
PARTIAL = TradeTemplate(
    '{"table":"trade","action":"partial","keys":[],"types":{"timestamp":"timestamp","symbol":"symbol",'
    '"side":"symbol","size":"long","price":"float","tickDirection":"symbol","trdMatchID":"guid",'
    '"grossValue":"long","homeNotional":"float","foreignNotional":"float"},'
    '"foreignKeys":{"symbol":"instrument","side":"side"},"attributes":{"timestamp":"sorted","symbol":"grouped"},'
    '"filter":{"symbol":"$symbol"},"data":[$rows]}', _ROW, SIDES)
PARTIAL_TRADES = 5
TABLE = "trade:"


class Session(BaseSession):
    def opened(self, path: str) -> None:
        self.send({"info": "Welcome to the BitMEX Realtime API.", "version": "2024-06-01T00:00:00.000Z",
                   "timestamp": iso_now(3), "docs": "https://www.bitmex.com/app/wsAPI", "limit": {"remaining": 39}})

    def received(self, text: str) -> None:
        """{"op":"subscribe","args":["trade:XBTUSD"]}
        -> {"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe","args":["trade:XBTUSD"]}}"""
        if text == "ping":
            self.send("pong")
            return
        request = self.load(text)
        if type(request) is not dict or request.get("op") not in ("subscribe", "unsubscribe"):
            self._error("Unknown or unsupported op.", request if type(request) is dict else {})
            return
        op, args = request["op"], request.get("args") or []
        for topic in args if type(args) is list else [args]:
            topic = str(topic)
            symbol = self.find(topic[len(TABLE):]) if topic.startswith(TABLE) else None
            if not topic.startswith(TABLE):
                self._error(f"Unknown table: {topic.partition(':')[0]}", request)
            elif symbol is None:
                self._error("Unknown or expired symbol.", request)
            elif op == "subscribe" and topic in self.subscriptions:
                self._error(f"You are already subscribed to this topic: {topic}", request)
            elif op == "unsubscribe":
                self.unsubscribe(topic)
                self.send({"success": True, "unsubscribe": topic, "request": request})
            else:
                sub = self.subscribe(symbol, LIVE, topic)
                self.send({"success": True, "subscribe": topic, "request": request})
                self.replay(sub, PARTIAL, PARTIAL_TRADES)

    def _error(self, message: str, request: dict) -> None:
        self.send({"status": 400, "error": message, "meta": {}, "request": request})
