"""Gemini, both APIs on one port, chosen by the subscribe frame:

- current API (what feeds/gemini.py uses): ``{"id":1,"method":"subscribe","params":["btcusd@trade"]}``
  -> ``{"id":1,"status":200,"result":null}``, then one trade per frame, ``E`` in ns,
  ``m`` = buyer is maker; one bad stream rejects the whole request; ``ping`` method
  answered; server WebSocket pings every 20 s. No replay.
- Market Data v2: ``{"type":"subscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD"]}]}``
  -> per symbol an ``l2_updates`` whose ``trades`` array replays the last 50 trades,
  then ``trade`` frames; ``heartbeat`` every 5 s.
"""
from __future__ import annotations

from simulator.clock import ms_now
from simulator.market import QUOTE_MASK
from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "gemini"
SYMBOLS = ("btcusd", "ethusd", "solusd")
BATCH = (1,)

LIVE = TradeTemplate("$rows", '{"E":%(ns)s,"s":"$symbol","t":%(id)d,"p":"$price","q":"$size","m":$side}',
                     ("false", "true"))  # m: the buyer is the maker, so a taker buy is false
_V2_ROW = ('{"type":"trade","symbol":"$symbol","event_id":%(id)d,"timestamp":%(ms)s,"price":"$price",'
           '"quantity":"$size","side":"$side"}')
V2_LIVE = TradeTemplate("$rows", _V2_ROW)
V2_INITIAL = TradeTemplate('{"type":"l2_updates","symbol":"$symbol","changes":[["buy","$bid","1.5"],'
                           '["sell","$ask","2.0"]],"trades":[$rows],"auction_events":[]}', _V2_ROW)
V2_INITIAL_TRADES = 50
V2_HEARTBEAT_S = 5.0
STREAM = "@trade"


class Session(BaseSession):
    PROTOCOL_PING_S = 20.0

    def received(self, text: str) -> None:
        request = self.load(text)
        if type(request) is not dict:
            self.send({"id": None, "status": 400, "error": {"code": -1000, "msg": "Invalid JSON"}})
        elif "method" in request:
            self._method(request)
        elif request.get("type") == "subscribe":
            self._v2_subscribe(request)
        else:
            self.send({"type": "error", "reason": "InvalidJson", "message": "Unknown request"})

    def _method(self, request: dict) -> None:
        """Current API: {"id":1,"method":"subscribe","params":["btcusd@trade"]}"""
        method, request_id, params = request.get("method"), request.get("id"), request.get("params") or []
        if method == "ping":
            self.send({"id": request_id, "status": 200})
        elif method in ("subscribe", "unsubscribe"):
            bad = [stream for stream in params if type(stream) is not str or not stream.endswith(STREAM)
                   or self.find(stream[:-len(STREAM)], ignore_case=True) is None]
            if bad:
                self.send({"id": request_id, "status": 400,
                           "error": {"code": -1121, "msg": f"Invalid symbol: {bad[0]}"}})
                return
            for stream in params:
                if method == "subscribe":
                    self.subscribe(self.find(stream[:-len(STREAM)], ignore_case=True), LIVE, stream)
                else:
                    self.unsubscribe(stream)
            self.send({"id": request_id, "status": 200, "result": None})
        elif method == "list_subscriptions":
            self.send({"id": request_id, "status": 200, "result": list(self.subscriptions)})
        else:
            self.send({"id": request_id, "status": 400, "error": {"code": -1020, "msg": "Unsupported operation"}})

    def _v2_subscribe(self, request: dict) -> None:
        """Market Data v2: {"type":"subscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD"]}]}"""
        wanted = []
        for item in request.get("subscriptions") or []:
            if type(item) is not dict or item.get("name") != "l2":
                self.send({"type": "error", "reason": "InvalidSubscription", "message": f"not simulated: {item}"})
                return
            for name in item.get("symbols") or []:
                symbol = self.find(str(name), ignore_case=True)
                if symbol is None:
                    self.send({"type": "error", "reason": "InvalidSymbol", "message": f"Invalid symbol {name}"})
                    return
                wanted.append(symbol)
        for symbol in wanted:
            upper = symbol.name.upper()
            if upper in self.subscriptions:
                continue
            price = float(symbol.quotes[symbol.next_id & QUOTE_MASK].price)
            sub = self.subscribe(symbol, V2_LIVE, upper, symbol=upper,
                                 bid=f"{price * 0.9999:.2f}", ask=f"{price * 1.0001:.2f}")
            self.replay(sub, V2_INITIAL, V2_INITIAL_TRADES)
        if "heartbeat" not in self.timers:
            self.set_timer("heartbeat", V2_HEARTBEAT_S)

    def on_timer(self, name: str, now: float) -> None:
        if name == "heartbeat":
            self.send({"type": "heartbeat", "timestamp": ms_now()})
            self.set_timer("heartbeat", V2_HEARTBEAT_S)
