"""The control port: JSON lines in, one JSON line out per command.

    {"cmd":"stats"}                                   -> {"ok":true,"stats":{...}}
    {"cmd":"fault","venue":"okx","kind":"drop"}       (kinds and parameters: faults.py)
    {"cmd":"fault","venue":"okx","kind":"drop","connection":1}  (only the second open connection)
    {"cmd":"fault","venue":"okx","kind":"stall","seconds":2}
    {"cmd":"fault","venue":"okx","kind":"malformed","count":5}
    {"cmd":"fault","venue":"okx","kind":"skip","count":3}
    {"cmd":"fault","venue":"okx","kind":"refuse","seconds":1.5}
    {"cmd":"rate","venue":"okx","rate":1000}          (rate 0 or "max": unpaced; no venue: all)
    {"cmd":"pause"} / {"cmd":"resume"}                (optional "venue")
    {"cmd":"clock","offset_s":42.5}                   (the venues' clock runs this far ahead from now on)
    {"cmd":"stop"}

Errors answer ``{"ok":false,"error":"..."}``. The server runs inside the
simulator's event loop; replies are small and written with a short blocking send.
"""
from __future__ import annotations

import logging
import selectors
import socket
from typing import Callable

import orjson

log = logging.getLogger("tickagg.simulator")
MAX_LINE = 1 << 16


class ControlServer:
    def __init__(self, selector: selectors.BaseSelector, handle: Callable[[dict], dict], host: str, port: int):
        self.selector, self.handle = selector, handle
        self.listener = socket.create_server((host, port))
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()[:2]
        self.clients: dict[socket.socket, bytes] = {}
        selector.register(self.listener, selectors.EVENT_READ, self._accept)

    def _accept(self, mask: int) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        sock.settimeout(2.0)  # sends block at most this long; reads only happen when ready
        self.clients[sock] = b""
        self.selector.register(sock, selectors.EVENT_READ, lambda mask, sock=sock: self._read(sock))

    def _read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(MAX_LINE)
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        lines = (self.clients[sock] + data).split(b"\n")
        self.clients[sock] = lines.pop()
        if len(self.clients[sock]) > MAX_LINE:
            self._drop(sock)
            return
        for line in lines:
            if line.strip():
                self._answer(sock, line)

    def _answer(self, sock: socket.socket, line: bytes) -> None:
        try:
            request = orjson.loads(line)
            if type(request) is not dict:
                raise ValueError("a command is a JSON object")
            reply = {"ok": True, **self.handle(request)}
        except (ValueError, TypeError, KeyError) as exc:
            reply = {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug must not take the simulator down: report it
            log.exception("control command %r failed", line[:200])
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        try:
            sock.sendall(orjson.dumps(reply) + b"\n")
        except OSError:
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        if self.clients.pop(sock, None) is not None:
            self.selector.unregister(sock)
            sock.close()

    def close(self) -> None:
        for sock in list(self.clients):
            self._drop(sock)
        self.selector.unregister(self.listener)
        self.listener.close()
