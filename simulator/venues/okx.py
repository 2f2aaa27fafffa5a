"""OKX v5 public ``trades``: ``{"op":"subscribe","args":[{"channel":"trades","instId":..}]}``.

One ack per arg, error 60018 for an unknown instId, text ``ping`` -> ``pong``.
Live frames carry one or more trades (``data`` array), each ``count`` 1, so
``tradeId`` is consecutive per instrument.
"""
from __future__ import annotations

from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "okx"
SYMBOLS = ("BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP")
BATCH = (1, 1, 2, 1, 3, 1, 1, 2, 5)

LIVE = TradeTemplate(
    '{"arg":{"channel":"trades","instId":"$symbol"},"data":[$rows]}',
    '{"instId":"$symbol","tradeId":"%(id)d","px":"$price","sz":"$size","side":"$side","ts":"%(ms)s",'
    '"count":"1","source":"0","seqId":%(id)d}',
    ("buy", "sell"))


class Session(BaseSession):
    def received(self, text: str) -> None:
        """{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}
        -> {"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}"""
        if text == "ping":
            self.send("pong")
            return
        request = self.load(text)
        op = request.get("op") if type(request) is dict else None
        args = request.get("args") if type(request) is dict else None
        if op not in ("subscribe", "unsubscribe") or type(args) is not list:
            self._error("60012", f"Invalid request: {text[:200]}")
            return
        for arg in args:
            channel, inst_id = (arg.get("channel"), arg.get("instId")) if type(arg) is dict else (None, None)
            symbol = self.find(inst_id) if type(inst_id) is str else None
            if channel != "trades" or symbol is None:
                self._error("60018", f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. "
                                     "Please use the correct URL, channel and parameters referring to API document.")
                continue
            if op == "subscribe" and inst_id not in self.subscriptions:
                self.subscribe(symbol, LIVE, inst_id)
            elif op == "unsubscribe":
                self.unsubscribe(inst_id)
            ack = {"event": op, "arg": {"channel": channel, "instId": inst_id}, "connId": self.conn_id}
            if "id" in request:
                ack = {"id": request["id"], **ack}
            self.send(ack)

    def _error(self, code: str, message: str) -> None:
        self.send({"event": "error", "code": code, "msg": message, "connId": self.conn_id})
