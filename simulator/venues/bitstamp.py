"""Bitstamp ``live_trades_{market}``, one trade per frame.

``{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}`` is acked
even for a market that does not exist, which then stays silent (as on the
venue). ``bts:heartbeat`` is answered; the server pings about every 54 s;
a client frame over 512 bytes closes the connection (1009).
"""
from __future__ import annotations

from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "bitstamp"
SYMBOLS = ("btcusd", "ethusd", "solusd")
BATCH = (1,)

CHANNEL_PREFIX = "live_trades_"
LIVE = TradeTemplate(
    "$rows",
    '{"data":{"id":%(id)d,"timestamp":"%(s)s","amount":$size,"amount_str":"$size","price":$price,'
    '"price_str":"$price","type":$side,"microtimestamp":"%(us)s","buy_order_id":%(id)d1,'
    '"sell_order_id":%(id)d2},"channel":"live_trades_$symbol","event":"trade"}',
    ("0", "1"))  # type: 0 the taker bought, 1 the taker sold
MAX_REQUEST_BYTES = 512
MAX_CHANNELS = 1024  # "Attempting a 1025th subscription causes the connection to be silently closed" (§7)


class Session(BaseSession):
    PROTOCOL_PING_S = 54.0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.acked: set[str] = set()  # channels subscribed (and acked), known markets or not

    def received(self, text: str) -> None:
        """{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}
        -> {"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}}"""
        if len(text.encode()) > MAX_REQUEST_BYTES:
            self.close(1009, f"read limited at {MAX_REQUEST_BYTES + 1} bytes")
            return
        request = self.load(text)
        if type(request) is not dict:
            self._error("Incorrect JSON format.")
            return
        event = request.get("event")
        data = request.get("data") if type(request.get("data")) is dict else {}
        channel = str(data.get("channel", ""))
        if event == "bts:heartbeat":
            self.send({"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}})
        elif event in ("bts:subscribe", "bts:unsubscribe") and channel.startswith(CHANNEL_PREFIX):
            symbol = self.find(channel[len(CHANNEL_PREFIX):])
            if event == "bts:unsubscribe":
                self.acked.discard(channel)
                self.unsubscribe(channel)
                self.send({"event": "bts:unsubscription_succeeded", "channel": channel, "data": {}})
                return
            if channel not in self.acked and len(self.acked) >= MAX_CHANNELS:
                self.conn.drop()  # silently: no close frame
                return
            self.acked.add(channel)
            if symbol is not None:  # an unknown market is acked all the same, then silent
                self.subscribe(symbol, LIVE, channel)
            self.send({"event": "bts:subscription_succeeded", "channel": channel, "data": {}})
        else:
            self._error("Bad subscription string.")

    def _error(self, message: str) -> None:
        self.send({"event": "bts:error", "channel": "", "data": {"code": None, "message": message}})
