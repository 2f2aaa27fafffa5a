"""One client socket: HTTP upgrade, client frames in, queued frames out, closing (or one plain HTTP GET of the
venue's instrument list, answered and closed).

States::

    handshake --101--> open --close frame sent/received--> closing --FIN--> lingering --> closed
        \\--400--> lingering                 open --drop fault--> lingering (no close frame)

*Lingering* means: our FIN is queued behind every byte already written
(``shutdown(SHUT_WR)``) and we read and discard until the client closes or a
timeout passes. A plain ``close()`` with unread input would make the kernel
send RST and throw away frames already counted as sent.
"""
from __future__ import annotations

import logging
import selectors
import socket
import time
from typing import TYPE_CHECKING

from feeds.wsframe import (BINARY, CLOSE, PING, PONG, TEXT, FrameDecoder, ProtocolError, close_code_and_reason,
                           close_payload, encode)
from simulator.handshake import (MAX_REQUEST_BYTES, HandshakeError, is_upgrade, parse_get, parse_request, plain_response,
                                 refusal_response, upgrade_response)
from simulator.outbox import Counter, Outbox

if TYPE_CHECKING:
    from simulator.endpoint import Endpoint
    from simulator.session import Session

log = logging.getLogger("tickagg.simulator")
MAX_PENDING_BYTES = 64 << 20  # a client this far behind is dropped (a venue's slow-consumer cut)
CLOSE_TIMEOUT_S = 2.0  # wait this long for the client's close frame
LINGER_TIMEOUT_S = 5.0  # ...and this long for its FIN
READ_BYTES = 1 << 16


def _uncounted(frames: int, trades: int) -> None:
    """Counter for bytes that are not frames (the HTTP response)."""


class Connection:
    """A client of one venue: owns its socket, outbox and (once upgraded) its venue Session."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint):
        self.sock = sock
        self.endpoint = endpoint
        self.selector = endpoint.selector
        self.outbox = Outbox()
        self.reader = FrameDecoder()
        self.request = b""
        self.session: Session | None = None
        self.state = "handshake"
        self.deadline = 0.0  # closing / lingering ends by then
        self.wanted = 0  # selector events we need
        self.registered = 0  # selector events registered now (0: not registered)
        self.suspended = False  # the venue is stalled: no reads, no writes
        self._want(selectors.EVENT_READ)

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    # -- events --------------------------------------------------------------------------------
    def on_event(self, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            self._read()
        if mask & selectors.EVENT_WRITE and self.state != "closed":
            self.flush()

    def _read(self) -> None:
        try:
            data = self.sock.recv(READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.finish()
            return
        if not data:
            self.finish()
            return
        if self.state == "handshake":
            data = self._handshake(data)
        if data and self.state in ("open", "closing"):
            try:
                messages = self.reader.feed(data)
            except ProtocolError as exc:
                self.close(exc.code, str(exc))
                return
            for opcode, payload in messages:
                self._message(opcode, payload)
                if self.state not in ("open", "closing"):
                    break
        self.flush()

    def _handshake(self, data: bytes) -> bytes:
        """Read the upgrade request; returns the bytes after it (the client's first frames)."""
        self.request += data
        head, blank, rest = self.request.partition(b"\r\n\r\n")
        if not blank:
            if len(self.request) > MAX_REQUEST_BYTES:
                self._refuse("request too large")
            return b""
        if self._rest(head):
            return b""
        try:
            path, headers = parse_request(head)
        except HandshakeError as exc:
            self._refuse(str(exc))
            return b""
        self.outbox.add_frame(upgrade_response(headers["sec-websocket-key"]), _uncounted)
        self.state = "open"
        self.endpoint.stats.handshakes += 1
        venue = self.endpoint.venue  # a venue serving two protocols picks one by path (simulator/venues/coinbase.py)
        session_class = venue.session_class(path) if hasattr(venue, "session_class") else venue.Session
        self.session = session_class(self.endpoint, self)
        self._call(self.session.opened, path)
        return rest

    def _rest(self, head: bytes) -> bool:
        """A plain GET (no upgrade): the venue's instrument list, or 404; True when answered."""
        from simulator.instruments import answer

        try:
            path, headers = parse_get(head)
        except HandshakeError:
            return False
        if is_upgrade(headers):
            return False
        body = answer(self.endpoint.name, path, list(self.endpoint.market.symbols))
        if body is None:
            response = plain_response("404 Not Found", f"no such path: {path[:200]}".encode(), "text/plain")
        else:
            response = plain_response("200 OK", body)
        self.outbox.add_frame(response, _uncounted)
        self._linger()
        return True

    def _refuse(self, reason: str) -> None:
        self.outbox.add_frame(refusal_response(reason), _uncounted)
        self._linger()

    def _message(self, opcode: int, payload: bytes) -> None:
        if opcode == TEXT:
            if self.state == "open":
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    self.close(1007, "invalid UTF-8")
                    return
                self._call(self.session.received, text)
        elif opcode == PING:
            self.send_control(encode(payload, PONG))
        elif opcode == PONG:
            self.session.pong(payload)
        elif opcode == CLOSE:
            if self.state == "open":  # the client closes: answer with the same code
                code, _ = close_code_and_reason(payload)
                self._end_session()
                self.send_control(encode(close_payload(code), CLOSE))
            self._linger()
        elif opcode == BINARY:
            pass  # no simulated venue takes binary requests

    def _call(self, hook, argument: object) -> None:
        """Run a session hook; a bug in a venue module ends this connection (1011), never the simulator."""
        try:
            hook(argument)
        except Exception:
            log.exception("%s: session error, closing the connection", self.endpoint.name)
            self.close(1011, "internal error")

    # -- output --------------------------------------------------------------------------------
    def send_control(self, frame: bytes) -> None:
        """Queue a whole non-trade frame (ack, error, heartbeat, pong...)."""
        self.send_frame(frame, self.endpoint.stats.add_control)

    def send_frame(self, frame: bytes, counter: Counter, trades: int = 0) -> None:
        if self.state == "open":  # nothing may follow our close frame
            self.outbox.add_frame(frame, counter, trades)
            if not self.wanted & selectors.EVENT_WRITE:  # flushed when the loop sees the socket writable
                self._want(self.wanted | selectors.EVENT_WRITE)

    def flush(self) -> None:
        """Write what the kernel takes now; wait for EVENT_WRITE for the rest."""
        if self.suspended or self.state == "closed":
            return
        try:
            done = self.outbox.flush(self.sock)
        except (BlockingIOError, InterruptedError):
            done = False
        except OSError:
            self.finish()
            return
        if not done and self.outbox.pending > MAX_PENDING_BYTES:
            self.endpoint.stats.slow_consumer_drops += 1
            self.drop()
            return
        if done and self.state == "lingering" and not self.outbox.pending:
            self._shutdown_write()
        read = selectors.EVENT_READ
        self._want(read if done else read | selectors.EVENT_WRITE)

    # -- ending --------------------------------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "") -> None:
        """Server-initiated close handshake: close frame, then wait for the client's."""
        if self.state != "open":
            return
        self._end_session()
        self.send_control(encode(close_payload(code, reason), CLOSE))
        self.state = "closing"
        self.deadline = time.monotonic() + CLOSE_TIMEOUT_S
        self.flush()

    def drop(self) -> None:
        """Fault ``drop``: end TCP now, no close frame. Unsent frames are discarded (never counted);
        frames already written still reach the client before the FIN."""
        if self.state in ("lingering", "closed"):
            return
        self._end_session()
        self.outbox = Outbox()
        self.suspended = False  # a drop during a stall cuts now
        self._apply()
        self._linger()

    def _linger(self) -> None:
        self._end_session()
        self.state = "lingering"
        self.deadline = time.monotonic() + LINGER_TIMEOUT_S
        self.flush()

    def _shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _end_session(self) -> None:
        if self.session is not None:
            self.session.ended()

    def finish(self) -> None:
        """The socket is done: unregister, close, forget."""
        if self.state == "closed":
            return
        self._end_session()
        self.state = "closed"
        self._want(0)
        self.sock.close()
        self.endpoint.forget(self)

    def housekeeping(self, now: float) -> None:
        """Timers: the session's while open, the close/linger deadlines after."""
        if self.state == "open":
            self._call(self.session.tick, now)
            if self.outbox.pending:
                self.flush()
        elif self.state == "closing" and now >= self.deadline:
            self._linger()
        elif self.state == "lingering" and now >= self.deadline:
            self.finish()

    # -- stall ---------------------------------------------------------------------------------
    def suspend(self) -> None:
        """Fault ``stall``: no reads, no writes (the client's bytes wait in the kernel)."""
        self.suspended = True
        self._apply()

    def resume(self) -> None:
        self.suspended = False
        self._apply()
        self.flush()

    def _want(self, events: int) -> None:
        self.wanted = events
        self._apply()

    def _apply(self) -> None:
        """Make the selector registration match ``wanted`` (nothing while suspended or closed)."""
        events = 0 if self.suspended or self.state == "closed" else self.wanted
        if events == self.registered:
            return
        if not self.registered:
            self.selector.register(self.sock, events, self.on_event)
        elif not events:
            self.selector.unregister(self.sock)
        else:
            self.selector.modify(self.sock, events, self.on_event)
        self.registered = events
