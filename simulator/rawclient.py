"""A bare WebSocket client on a plain socket, for benchmarks: it counts frames and
does nothing else, so it is never the bottleneck of what it measures."""
from __future__ import annotations

import base64
import os
import socket
import time
from urllib.parse import urlsplit

from feeds.wsframe import TEXT, encode, skip_frames
from simulator.handshake import accept_key

RECV_BYTES = 1 << 20


class RawClient:
    """``RawClient(url)`` does the upgrade; ``send_text`` and ``count`` frames."""

    def __init__(self, url: str, timeout: float = 5.0):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        self.sock.sendall((f"GET {target} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            response += chunk
        head, _, self._carry = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0] or accept_key(key).encode() not in head:
            raise ConnectionError(f"handshake refused: {head[:200]!r}")
        self._skip = 0  # payload bytes of the current frame still to come
        self.frames = 0
        self.bytes = 0

    def send_text(self, text: str) -> None:
        self.sock.sendall(encode(text.encode(), TEXT, mask=os.urandom(4)))  # client frames are masked

    def count(self, seconds: float) -> tuple[int, int]:
        """Read for ``seconds``; returns (frames whose header arrived, bytes) in that time."""
        sock = self.sock
        buffer = bytearray(RECV_BYTES)
        frames = received = 0
        skip, carry = self._skip, self._carry  # payload bytes still to come; a header cut by a read
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                size = sock.recv_into(buffer)
            except socket.timeout:
                break
            if not size:
                break
            received += size
            data = memoryview(buffer)[:size]
            if carry:
                data = carry + bytes(data)
                carry = b""
            size = len(data)
            if skip >= size:
                skip -= size
                continue
            counted, index = skip_frames(data, skip, size)
            frames += counted
            if index < size:
                carry, skip = bytes(data[index:size]), 0  # a header cut by the read
            else:
                skip = index - size
        self._skip, self._carry = skip, carry
        self.frames += frames
        self.bytes += received
        return frames, received

    def close(self) -> None:
        self.sock.close()
