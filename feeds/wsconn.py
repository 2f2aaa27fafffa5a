"""A WebSocket client connection with a fast frame reader.

websocket-client does the handshake (TLS, proxies, headers) and sends our
rare outgoing frames (subscribe, pings, replies: it masks them). Incoming
frames we read ourselves from the socket: websocket-client reads each frame
with two or three small ``recv`` calls and, unless told not to, validates
UTF-8 in pure Python; here one ``recv_into`` fills a large buffer and every
complete frame in it is sliced out. Text payloads are handed on as bytearray
slices (orjson decodes those about 0.4 µs faster than memoryviews), and a run
of text frames as one list (``texts``: one call per run, not per frame; a
chunk holds thousands of frames at full rate). Any other frame first hands on
the text frames before it, so the handler sees every frame in wire order.

The wire format is feeds/wsframe.py's (opcodes, ``frame_sizes``, ``unmask``);
only the hot path's test stays inline here: first byte 0x81 and a length byte
under 127 is a whole unmasked text frame, sliced out without a call. Where
wsframe's ``FrameDecoder`` raises ``ProtocolError``, this reader is lenient with
a server: a stray continuation is counted as a binary frame and skipped, a
masked frame unmasked, any other opcode handed to ``control``.

On a plain socket of a compiled venue the compiled read loop (feeds/pumped.py) reads instead, into the same
buffer, and hands the frames of a read it leaves to Python to ``dispatch``, the second half of ``read``.
"""
from __future__ import annotations

import socket
import ssl
import struct
from typing import Protocol

import websocket

from feeds.stop import WAIT
from feeds.wsframe import BINARY, CLOSE, CONTINUATION, PING, TEXT, frame_sizes, unmask

OP_CLOSE, OP_PING = CLOSE, PING  # the control opcodes a FrameHandler answers (feeds/session.py)
BUFFER_BYTES = 1 << 20


class FrameHandler(Protocol):
    def received(self, nbytes: int) -> None: ...
    def texts(self, payloads: list) -> None: ...
    def text(self, payload, nbytes: int = 0) -> None: ...  # a read of one whole text frame: ``received``, ``texts``
    def control(self, opcode: int, payload: bytes) -> None: ...
    def binary(self, length: int) -> None: ...
    def oversized(self, length: int) -> None: ...


class ConnectionClosed(ConnectionError):
    """The peer closed the connection (close frame or EOF)."""


class Connection:
    """One open WebSocket connection; ``read`` returns the next chunk's frames."""

    def __init__(self, url: str, timeout_s: float = 10.0, max_frame_bytes: int = BUFFER_BYTES // 2):
        self.url = url
        self.ws = websocket.create_connection(
            url, timeout=timeout_s, skip_utf8_validation=True, enable_multithread=False
        )
        self.sock: socket.socket = self.ws.sock
        self._recv_into = self.sock.recv_into  # bound once: a light feed's one call per wakeup
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray(BUFFER_BYTES)
        self._view = memoryview(self._buffer)
        self._filled = 0  # bytes of unread frames at the start of the buffer
        self._fragments: list[bytes] = []  # a fragmented text message in progress
        self._fragment_bytes = 0  # its size so far (at most max_frame_bytes are kept)
        self._discard = 0  # bytes still to skip of an oversized frame
        self._timeout_s: float | None = timeout_s
        self._blocking = False  # a blocking socket with SO_RCVTIMEO (``settimeout``)
        self._nowait = 0 if isinstance(self.sock, ssl.SSLSocket) else socket.MSG_DONTWAIT  # TLS takes no flags

    def read(self, handler: "FrameHandler", nowait: bool = False) -> int:
        """Wait for data (up to the socket timeout; ``nowait``: not at all on a plain socket, ``BlockingIOError``
        when nothing is there), then dispatch every complete frame in it.

        Calls ``handler.received(nbytes)`` first (the moment to stamp receive
        time), then ``texts`` per run of text frames and ``control``/``binary``/
        ``oversized`` per other frame, in wire order; a read that is exactly one
        whole text frame (light traffic) is one call, ``handler.text(payload, nbytes)``.
        Returns the bytes received; raises ``TimeoutError`` or
        ``BlockingIOError`` (``settimeout``) when nothing came, ``ConnectionClosed`` at EOF, ``Stopped`` when a stop
        signal ended the wait (feeds/stop.py).
        """
        filled, buffer = self._filled, self._buffer
        WAIT.waiting = True  # a stop signal may end this wait (feeds/stop.py)
        try:
            if filled or (nowait and self._nowait):
                view = self._view[filled:]
                received = self.sock.recv_into(view, 0, self._nowait) if nowait and self._nowait else self.sock.recv_into(view)
            else:
                received = self._recv_into(buffer)
        finally:
            WAIT.waiting = False
        if received == 0:
            raise ConnectionClosed("the server closed the connection (EOF)")
        return self.dispatch(handler, filled, received)

    def dispatch(self, handler: "FrameHandler", filled: int, received: int, counted: bool = False) -> int:
        """``read``'s second half: hand on every complete frame of the buffer's first ``filled + received`` bytes
        (``filled``: an unread frame's start, kept from earlier reads; ``received``: what the read just brought).
        Also called by the compiled read loop for the frames of a read it leaves to Python (feeds/pumped.py):
        ``counted``, the read was counted and its receive time stamped there (no ``received`` call)."""
        buffer = self._buffer
        if not counted and not filled and buffer[0] == 0x81 and not self._discard:  # light traffic: the read is one whole text frame?
            second = buffer[1]
            if second < 126:
                if second + 2 == received and second <= self.max_frame_bytes:
                    handler.text(buffer[2:received], received)
                    return received
            elif second == 126 and (buffer[2] << 8 | buffer[3]) + 4 == received and received - 4 <= self.max_frame_bytes:
                handler.text(buffer[4:received], received)
                return received
        if not counted:
            handler.received(received)
        on_texts, on_control, on_binary, on_oversized = handler.texts, handler.control, handler.binary, handler.oversized
        texts: list = []  # the run of text frames not yet handed on
        keep = texts.append
        end = filled + received
        start = 0
        if self._discard:
            skipped = min(self._discard, end)
            self._discard -= skipped
            start = skipped
        view, max_frame = self._view, self.max_frame_bytes
        while end - start >= 2:
            first, second = buffer[start], buffer[start + 1]
            if first == 0x81 and second < 127:  # fast path: a whole, unmasked text frame under 64 KiB
                if second < 126:
                    payload_start = start + 2
                    stop = payload_start + second
                else:
                    payload_start = start + 4
                    if payload_start > end:
                        break
                    stop = payload_start + (buffer[start + 2] << 8 | buffer[start + 3])
                    if stop - payload_start > max_frame:
                        if texts:
                            on_texts(texts)
                            texts = []
                            keep = texts.append
                        on_oversized(stop - payload_start)
                        self._discard = max(0, stop - end)
                        start = min(stop, end)
                        continue
                if stop > end:
                    break
                keep(buffer[payload_start:stop])  # a bytearray copy: orjson reads it faster than a memoryview
                start = stop
                continue
            if texts:
                on_texts(texts)
                texts = []
                keep = texts.append
            header, length = frame_sizes(buffer, start, end)
            if not header:
                break
            if length > max_frame:
                on_oversized(length)
                available = end - start - header
                if available >= length:
                    start += header + length
                    continue
                self._discard = length - max(available, 0)
                start = end
                break
            stop = start + header + length
            if stop > end:
                break
            payload = view[start + header : stop]
            if second & 0x80:  # servers must not mask, but be lenient
                payload = memoryview(unmask(buffer[start + header - 4 : start + header], payload))
            opcode = first & 0x0F
            fin = first & 0x80
            if opcode == TEXT and fin:
                on_texts([payload])
            elif opcode == TEXT or (opcode == CONTINUATION and self._fragment_bytes):
                self._fragment_bytes += len(payload) or 1  # > 0 while a message is in progress
                if self._fragment_bytes <= max_frame:
                    self._fragments.append(bytes(payload))
                elif self._fragments:  # the message grew past the limit in pieces: skipped like an oversized frame
                    on_oversized(self._fragment_bytes)
                    self._fragments.clear()
                if fin:
                    if self._fragments:
                        message = b"".join(self._fragments)
                        self._fragments.clear()
                        on_texts([memoryview(message)])
                    self._fragment_bytes = 0
            elif opcode == BINARY or opcode == CONTINUATION:
                on_binary(length)
            else:
                on_control(opcode, bytes(payload))
            start = stop
        if texts:
            on_texts(texts)
        remaining = end - start
        if remaining and start:
            buffer[:remaining] = buffer[start:end]
        self._filled = remaining
        if remaining == BUFFER_BYTES:  # cannot happen: max_frame_bytes < BUFFER_BYTES
            raise ConnectionError("frame reader buffer overflow")
        return received

    def send_text(self, text: str) -> None:
        self._send(self.ws.send, text)

    def pong(self, payload: bytes) -> None:
        self._send(self.ws.pong, payload)

    def ping(self, payload: bytes = b"") -> None:
        self._send(self.ws.ping, payload)

    def _send(self, send, payload) -> None:
        """Sends are rare: under a Python timeout, as websocket-client expects (a blocked send then
        raises ``TimeoutError`` instead of waiting in its ``select`` for ever)."""
        if not self._blocking:
            send(payload)
            return
        self.sock.settimeout(self._timeout_s)
        try:
            send(payload)
        finally:
            self.sock.settimeout(None)  # SO_RCVTIMEO stays: the next read waits in the kernel again

    def settimeout(self, seconds: float) -> None:
        """Reads wait at most ``seconds``. A plain socket waits in the kernel (SO_RCVTIMEO on a blocking
        socket: one ``recv`` per wakeup, where a Python timeout polls first: two); ``read`` then raises
        ``BlockingIOError`` when nothing came. TLS sockets keep Python's timeout (``TimeoutError``)."""
        self._timeout_s = seconds
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket):
            sock.settimeout(seconds)
            return
        whole = int(seconds)
        micros = int((seconds - whole) * 1e6) or (0 if whole else 1)  # 0 s 0 µs would mean "no limit"
        limit = struct.pack("ll", whole, micros)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        sock.settimeout(None)
        self._blocking = True

    def close(self) -> None:
        try:
            self.ws.close(timeout=0.2)
        except Exception:  # closing a broken socket: nothing left to save
            pass
        try:
            self.ws.shutdown()
        except Exception:
            pass
