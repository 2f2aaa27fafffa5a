"""The WebSocket opening handshake (RFC 6455 section 4), server side: the HTTP upgrade; and the plain HTTP GET
the same port answers for a venue's REST instrument list (simulator/instruments.py).

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


def parse_get(head: bytes) -> tuple[str, dict[str, str]]:
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
    return parts[1], headers


def is_upgrade(headers: dict[str, str]) -> bool:
    return "websocket" in headers.get("upgrade", "").lower() and "sec-websocket-key" in headers


def parse_request(head: bytes) -> tuple[str, dict[str, str]]:
    """A WebSocket upgrade request's path and headers; HandshakeError for anything else."""
    path, headers = parse_get(head)
    if not is_upgrade(headers):
        raise HandshakeError("missing Upgrade: websocket or Sec-WebSocket-Key")
    return path, headers


def upgrade_response(key: str) -> bytes:
    """The ``101 Switching Protocols`` answer (no extensions: clients get plain text frames)."""
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode()


def refusal_response(reason: str) -> bytes:
    """``400 Bad Request`` for a request that is not a WebSocket upgrade."""
    body = reason.encode()
    return (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def plain_response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    """A whole HTTP/1.1 answer (``status``: "200 OK", "404 Not Found") that closes the connection."""
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
