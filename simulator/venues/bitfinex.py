"""Bitfinex v2 public ``trades`` channel, one ``te`` trade per frame.

``info`` on connect; each ``{"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}``
gets ``subscribed`` with a chanId, then the snapshot array (the last 30 trades,
newest first), then ``[chanId,"te",[ID,MTS,AMOUNT,PRICE]]`` (AMOUNT < 0: the taker
sold). ``[chanId,"hb"]`` every 15 s per channel; ``{"event":"ping"}`` -> ``pong``.
"""
from __future__ import annotations

import itertools
import uuid

from simulator.clock import ms_now
from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "bitfinex"
SYMBOLS = ("tBTCUSD", "tETHUSD", "tSOLUSD")
BATCH = (1,)

SIGNS = ("", "-")  # AMOUNT's sign is the taker's side
_ROW = "[%(id)d,%(ms)s,$side$size,$price]"
LIVE = TradeTemplate('[$chan,"te",$rows]', _ROW, SIGNS)
SNAPSHOT = TradeTemplate("[$chan,[$rows]]", _ROW, SIGNS)
SNAPSHOT_TRADES = 30
MAX_CHANNELS = 25
HEARTBEAT_S = 15.0

_channel_ids = itertools.count(17_470)


class Session(BaseSession):
    def opened(self, path: str) -> None:
        self.send({"event": "info", "version": 2, "serverId": str(uuid.uuid4()), "platform": {"status": 1}})

    def received(self, text: str) -> None:
        """{"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}
        -> {"event":"subscribed","channel":"trades","chanId":17470,"symbol":"tBTCUSD","pair":"BTCUSD"}"""
        request = self.load(text)
        event = request.get("event") if type(request) is dict else None
        if event == "subscribe":
            self._subscribe(request)
        elif event == "unsubscribe":
            key = str(request.get("chanId"))
            if self.unsubscribe(key) is None:
                self._error(10400, "unsubscribe: invalid")
            else:
                self.send({"event": "unsubscribed", "status": "OK", "chanId": request.get("chanId")})
        elif event == "ping":
            self.send({"event": "pong", "ts": ms_now(), "cid": request.get("cid")})
        elif event == "conf":
            self.send({"event": "conf", "status": "OK", "flags": request.get("flags")})  # flags not simulated
        else:
            self._error(10000, "event: invalid")

    def _subscribe(self, request: dict) -> None:
        name = request.get("symbol") or ("t" + str(request.get("pair", "")))
        if request.get("channel") != "trades":
            self._error(10302, "channel: unknown", channel=request.get("channel"))
            return
        symbol = self.find(name) if type(name) is str else None
        if symbol is None:
            self._error(10300, "symbol: invalid", channel="trades", symbol=name, pair=str(name)[1:])
        elif any(sub.symbol is symbol for sub in self.subscriptions.values()):
            self._error(10301, "subscribe: dup", channel="trades", symbol=name, pair=name[1:])
        elif len(self.subscriptions) >= MAX_CHANNELS:
            self._error(10305, "subscribe: limit", channel="trades", symbol=name, pair=name[1:])
        else:
            chan_id = next(_channel_ids)
            sub = self.subscribe(symbol, LIVE, str(chan_id), chan=str(chan_id))
            self.send({"event": "subscribed", "channel": "trades", "chanId": chan_id, "symbol": name,
                       "pair": name[1:]})
            self.replay(sub, SNAPSHOT, SNAPSHOT_TRADES, newest_first=True)
            if "heartbeat" not in self.timers:
                self.set_timer("heartbeat", HEARTBEAT_S)

    def on_timer(self, name: str, now: float) -> None:
        if name == "heartbeat" and self.subscriptions:
            for chan_id in self.subscriptions:
                self.send(f'[{chan_id},"hb"]')
            self.set_timer("heartbeat", HEARTBEAT_S)

    def _error(self, code: int, message: str, **fields: object) -> None:
        self.send({"event": "error", **fields, "msg": message, "code": code})
