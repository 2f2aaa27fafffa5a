"""The WebSocket opening handshake (RFC 6455 section 4), server side: the HTTP upgrade.

Frames after it are feeds/wsframe.py's.
"""
from __future__ import annotations

import base64
import hashlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

MAX_REQUEST_BYTES = 64 * 1024  # an HTTP upgrade request larger than this is refused (Binance: 1,024 streams in the URL)


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
