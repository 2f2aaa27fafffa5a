"""The WebSocket wire format (RFC 6455), server side: handshake, frame headers, client frames.

A server frame is a header and an unmasked payload::

     0               1               2               4 (or 10)
    +-+-+-+-+-------+-+-------------+---------------+----------------
    |F|R|R|R| opcode|M| len (7 bit) | ext. length   | payload ...
    |I|S|S|S|  4 bit|0| 126 => 16 bit length follows, 127 => 64 bit
    +-+-+-+-+-------+-+-------------+---------------+----------------

Client frames carry M=1 and a 4-byte masking key before the payload, which
is XOR-ed with the key repeated. Text-frame headers are precomputed
(``TEXT_HEADERS[length]``, payloads up to 16 KiB) for the hot path.
"""
from __future__ import annotations

import base64
import hashlib
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL_OPCODES = frozenset((CLOSE, PING, PONG))

MAX_REQUEST_BYTES = 16 * 1024  # an HTTP upgrade request larger than this is refused
MAX_MESSAGE_BYTES = 1 << 20  # a client message larger than this closes the connection (1009)


def header(opcode: int, length: int) -> bytes:
    """The header of an unfragmented, unmasked frame of ``length`` payload bytes."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


TEXT_HEADERS: list[bytes] = [header(TEXT, length) for length in range(1 << 14)]  # hot path: trade frames


def encode(payload: bytes, opcode: int = TEXT) -> bytes:
    """One whole server frame."""
    return header(opcode, len(payload)) + payload


def close_payload(code: int | None, reason: str = "") -> bytes:
    """A close frame's payload: the status code (network order) and a UTF-8 reason."""
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode()[:123]


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


class HandshakeError(ValueError):
    """An HTTP request that is not a WebSocket upgrade."""


def parse_request(head: bytes) -> tuple[str, dict[str, str]]:
    """``GET <path> HTTP/1.1`` + headers (names lowercased) from the bytes before the blank line."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/1."):
        raise HandshakeError(f"not a GET request: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if "websocket" not in headers.get("upgrade", "").lower() or "sec-websocket-key" not in headers:
        raise HandshakeError("missing Upgrade: websocket or Sec-WebSocket-Key")
    return parts[1], headers


def upgrade_response(key: str) -> bytes:
    """The ``101 Switching Protocols`` answer (no extensions: clients get plain text frames)."""
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode()


def refusal_response(reason: str) -> bytes:
    """``400 Bad Request`` for a request that is not a WebSocket upgrade."""
    body = reason.encode()
    return (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def unmask(mask: bytes, payload: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``mask`` repeated (one big-integer XOR, no Python loop)."""
    length = len(payload)
    if not length:
        return payload
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(length, "little")


class ProtocolError(ValueError):
    """A client frame that breaks RFC 6455; ``code`` is the close status to answer with."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class FrameReader:
    """Turns the client's byte stream into whole messages: ``feed(data) -> [(opcode, payload)]``.

    Client frames must be masked; fragmented messages are reassembled; control
    frames may arrive between fragments and are returned at once.
    """

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES):
        self.max_message = max_message
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0
        self.fragment_bytes = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buffer += data
        messages = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return messages
            fin, opcode, payload = frame
            if opcode in CONTROL_OPCODES:
                if not fin or len(payload) > 125:
                    raise ProtocolError(1002, "fragmented or oversized control frame")
                messages.append((opcode, payload))
            elif opcode == CONTINUATION:
                if not self.fragments:
                    raise ProtocolError(1002, "continuation without a first fragment")
                self._add_fragment(payload)
                if fin:
                    messages.append((self.fragment_opcode, b"".join(self.fragments)))
                    self.fragments, self.fragment_bytes = [], 0
            elif opcode in (TEXT, BINARY):
                if self.fragments:
                    raise ProtocolError(1002, "new message inside a fragmented one")
                if fin:
                    messages.append((opcode, payload))
                else:
                    self.fragment_opcode = opcode
                    self._add_fragment(payload)
            else:
                raise ProtocolError(1002, f"reserved opcode {opcode:#x}")

    def _add_fragment(self, payload: bytes) -> None:
        self.fragment_bytes += len(payload)
        if self.fragment_bytes > self.max_message:
            raise ProtocolError(1009, "message too big")
        self.fragments.append(payload)

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        if first & 0x70:
            raise ProtocolError(1002, "reserved bits set (no extension was negotiated)")
        if not second & 0x80:
            raise ProtocolError(1002, "client frame not masked")
        length = second & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length = struct.unpack_from("!H", buffer, 2)[0]
            offset = 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length = struct.unpack_from("!Q", buffer, 2)[0]
            offset = 10
        if length > self.max_message:
            raise ProtocolError(1009, "message too big")
        end = offset + 4 + length
        if len(buffer) < end:
            return None
        mask = bytes(buffer[offset:offset + 4])
        payload = unmask(mask, bytes(buffer[offset + 4:end]))
        del buffer[:end]
        return bool(first & 0x80), first & 0x0F, payload
