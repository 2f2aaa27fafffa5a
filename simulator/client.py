"""A minimal venue client for tests and demos: websocket-client plus a venue module's
``url_for``, ``on_connect_messages``, ``subscribe_messages`` and ``Parser`` — the
feed loop's protocol steps with nothing else (no ring, no reconnect)."""
from __future__ import annotations

import time
from types import ModuleType

import websocket

from feeds.trade import FrameError, Trade
from feeds.venues import venue as venue_module


class VenueClient:
    """One connection; ``pump`` reads frames through the Parser and sends its replies."""

    def __init__(self, venue: str | ModuleType, base_url: str, symbols: list[str], timeout: float = 5.0,
                 subscribe: bool = True, heartbeat: bool = True):
        self.module = venue_module(venue) if isinstance(venue, str) else venue
        self.parser = self.module.Parser()
        self.ws = websocket.create_connection(self.module.url_for(base_url, symbols), timeout=timeout,
                                              skip_utf8_validation=True)
        self.live: list[Trade] = []
        self.errors: list[FrameError] = []
        self.frames = 0
        self.multi_trade_frames = 0  # frames that carried more than one live trade
        self.last_frame_at = self.last_trade_at = time.monotonic()
        self.closed: Exception | None = None  # why the connection ended, once it has
        self.close_code: int | None = None  # the server's close status, if it sent a close frame
        self.pings = self.pongs = 0  # protocol control frames received
        self.texts: list[str | bytes] = []  # every data frame, when ``keep`` is set
        self.keep = False
        for message in (self.module.on_connect_messages() if heartbeat else []):
            self.ws.send(message)
        for message in (self.module.subscribe_messages(symbols) if subscribe else []):
            self.ws.send(message)

    @property
    def replayed(self) -> list[Trade]:
        return [Trade._make(trade) for trade in self.parser.replayed]  # named (parsers give plain tuples)

    def send(self, text: str) -> None:
        self.ws.send(text)

    def pump(self, seconds: float, quiet_s: float | None = None) -> int:
        """Read for ``seconds``, or until no live trade came for ``quiet_s`` (heartbeats and other
        frames keep coming after a pause: they do not count as activity). Returns frames read."""
        start = time.monotonic()
        end = start + seconds
        read = 0
        self.last_trade_at = start
        while self.closed is None:
            now = time.monotonic()
            if now >= end or (quiet_s is not None and now - self.last_trade_at >= quiet_s):
                break
            self.ws.settimeout(min(quiet_s or 0.25, end - now))
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                if quiet_s is not None:
                    break
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError) as exc:
                self.closed = exc
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                self.closed = ConnectionError(f"close frame {self.close_code}")
                break
            if opcode == websocket.ABNF.OPCODE_PING:
                self.pings += 1  # websocket-client has answered it
                continue
            if opcode == websocket.ABNF.OPCODE_PONG:
                self.pongs += 1
                continue
            read += 1
            self.handle(data.decode() if opcode == websocket.ABNF.OPCODE_TEXT else data)
        return read

    def handle(self, frame: str | bytes) -> list[Trade]:
        self.frames += 1
        if self.keep:
            self.texts.append(frame)
        self.last_frame_at = time.monotonic()
        try:
            trades = [Trade._make(trade) for trade in self.parser.parse(frame)]  # named (parsers give plain tuples)
        except FrameError as exc:
            self.errors.append(exc)
            trades = []
        self.live.extend(trades)
        if trades:
            self.last_trade_at = self.last_frame_at
        if len(trades) > 1:
            self.multi_trade_frames += 1
        for reply in self.parser.replies:
            self.ws.send(reply)
        self.parser.replies.clear()
        return trades

    def drain(self, quiet_s: float = 0.3, limit_s: float = 10.0) -> int:
        """Read until no frame came for ``quiet_s`` (after a pause: everything in flight)."""
        return self.pump(limit_s, quiet_s=quiet_s)

    def close(self) -> None:
        try:
            self.ws.close(timeout=0.5)
        except Exception:  # already gone: nothing to close
            pass
