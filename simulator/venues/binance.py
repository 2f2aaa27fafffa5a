"""Binance spot ``<symbol>@trade`` / ``@aggTrade``, one trade per frame.

Streams are named in the URL, raw (``/ws/btcusdt@trade``: bare payloads) or
combined (``/stream?streams=a@trade/b@trade``: ``{"stream":..,"data":..}``),
or added later with ``{"method":"SUBSCRIBE","params":[...],"id":1}``.
``timeUnit=MICROSECOND`` in the query switches times to µs. The server sends a
WebSocket ping every 20 s and closes after 60 s without a pong. An unknown
symbol gets no error frame: the stream simply stays silent, as on the venue.
A connection carries at most ``MAX_STREAMS`` (1,024, exchange-protocols §1): a
URL or a SUBSCRIBE past that closes the connection (1008 "too many streams";
the venue documents the limit, not its answer).
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from simulator.session import Session as BaseSession
from simulator.templates import TradeTemplate

NAME = "binance"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
BATCH = (1,)
MAX_STREAMS = 1024

SIDES = ("false", "true")  # "m": the buyer is the maker, so a taker buy is false
_ROWS = {
    "trade": '{"e":"trade","E":%($unit)s,"s":"$symbol","t":%(id)d,"p":"$price","q":"$size",'
             '"T":%($unit)s,"m":$side,"M":true}',
    "aggTrade": '{"e":"aggTrade","E":%($unit)s,"s":"$symbol","a":%(id)d,"p":"$price","q":"$size",'
                '"f":%(id)d,"l":%(id)d,"T":%($unit)s,"m":$side,"M":true}',
}
COMBINED = {kind: TradeTemplate('{"stream":"$stream","data":$rows}', row, SIDES) for kind, row in _ROWS.items()}
RAW = {kind: TradeTemplate("$rows", row, SIDES) for kind, row in _ROWS.items()}


class Session(BaseSession):
    PROTOCOL_PING_S = 20.0
    PONG_TIMEOUT_S = 60.0

    def opened(self, path: str) -> None:
        url = urlsplit(path)
        query = parse_qs(url.query)
        self.unit = "us" if query.get("timeUnit", [""])[0].lower() == "microsecond" else "ms"
        if url.path.rstrip("/") == "/stream":
            self.combined, streams = True, query.get("streams", [""])[0].split("/")
        else:  # /ws/<stream>[/<stream>...] or a bare /ws
            self.combined, streams = False, url.path.removeprefix("/ws").split("/")
        self.streams: set[str] = set()  # streams asked for, served or not (an unknown symbol's too)
        if self._too_many([stream for stream in streams if stream]):
            return
        for stream in streams:
            if stream:
                self._subscribe(stream)

    def _too_many(self, streams: list[str]) -> bool:
        """Close the connection when ``streams`` would take it past MAX_STREAMS; else count them."""
        if len(self.streams.union(streams)) <= MAX_STREAMS:
            self.streams.update(streams)
            return False
        self.close(1008, f"too many streams: at most {MAX_STREAMS} per connection")
        return True

    def _subscribe(self, stream: str) -> None:
        """Serve ``stream`` (``btcusdt@trade``) if the symbol and stream type exist; silently not otherwise."""
        name, _, kind = stream.partition("@")
        symbol = self.find(name, ignore_case=True)
        if symbol is None or kind not in _ROWS or stream in self.subscriptions:
            return
        templates = COMBINED if self.combined else RAW
        self.subscribe(symbol, templates[kind], stream, stream=stream, unit=self.unit)

    def received(self, text: str) -> None:
        """{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1} -> {"result":null,"id":1}"""
        request = self.load(text)
        if type(request) is not dict:
            self.send({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1", "id": None})
            return
        method, params, request_id = request.get("method"), request.get("params") or [], request.get("id")
        if method == "SUBSCRIBE":
            if self._too_many([str(stream) for stream in params]):
                return
            for stream in params:
                self._subscribe(str(stream))
            self.send({"result": None, "id": request_id})
        elif method == "UNSUBSCRIBE":
            for stream in params:
                self.streams.discard(str(stream))
                self.unsubscribe(str(stream))
            self.send({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            self.send({"result": list(self.subscriptions), "id": request_id})
        else:
            self.send({"code": 2, "msg": f"Invalid request: unknown method {method!r}", "id": request_id})
