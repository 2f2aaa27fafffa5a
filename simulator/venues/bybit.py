"""Bybit v5 public ``publicTrade.{symbol}`` (any ``/v5/public/...`` path).

``{"op":"subscribe","args":[..]}`` (at most 10 topics) gets one response for the
whole request; one unknown or already-subscribed topic fails all of it.
``{"op":"ping"}`` gets the pong response. Every trade push says
``"type":"snapshot"`` (it is live) and may carry several trades.
"""
from __future__ import annotations

from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "bybit"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
BATCH = (1, 1, 3, 1, 2, 1, 6)

LIVE = TradeTemplate(
    '{"topic":"publicTrade.$symbol","ts":%(ms)s,"type":"snapshot","data":[$rows]}',
    '{"i":"%(id)d","T":%(ms)s,"p":"$price","v":"$size","S":"$side","s":"$symbol","BT":false,"RPI":false}',
    ("Buy", "Sell"))
ARGS_PER_REQUEST = 10  # spot
TOPIC = "publicTrade."


class Session(BaseSession):
    def received(self, text: str) -> None:
        """{"op":"subscribe","args":["publicTrade.BTCUSDT"]}
        -> {"success":true,"ret_msg":"subscribe","conn_id":"..","req_id":"","op":"subscribe"}"""
        request = self.load(text)
        if type(request) is not dict:
            self._reply(False, "error:request not json", "", "")
            return
        op, req_id, args = request.get("op"), request.get("req_id", ""), request.get("args") or []
        if op == "ping":
            self._reply(True, "pong", req_id, op)
        elif op in ("subscribe", "unsubscribe"):
            error = self._check(op, args)
            if error:
                self._reply(False, error, req_id, op)
                return
            for topic in args:
                if op == "subscribe":
                    self.subscribe(self.find(topic[len(TOPIC):]), LIVE, topic)
                else:
                    self.unsubscribe(topic)
            self._reply(True, op, req_id, op)
        else:
            self._reply(False, f"error:unsupported op {op}", req_id, str(op))

    def _check(self, op: str, args: list) -> str | None:
        """The ret_msg that fails the whole request, or None."""
        if len(args) > ARGS_PER_REQUEST:
            return f"args size >{ARGS_PER_REQUEST}"
        for topic in args:
            if type(topic) is not str or not topic.startswith(TOPIC) or self.find(topic[len(TOPIC):]) is None:
                return f"error:handler not found,topic:{topic}"
            if op == "subscribe" and topic in self.subscriptions:
                return f"error:already subscribed,topic:{topic}"
        return None

    def _reply(self, success: bool, message: str, req_id: object, op: str) -> None:
        self.send({"success": success, "ret_msg": message, "conn_id": self.conn_id, "req_id": req_id, "op": op})
