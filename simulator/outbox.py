"""A connection's unsent bytes, and the accounting of what the kernel accepted.

Bytes are queued in *runs*: a run is a block of whole frames with one counter
(e.g. ``SymbolStats.add_live``) and the end offset of every frame in it. When
``sock.send`` takes ``n`` bytes, every frame whose last byte is now written is
counted, exactly once; a frame half-written when the connection drops is not.

    stream offset:  sent ───────────────┐
                    |frame|frame|frame|fr│ame|frame|   <- queued (bounded: one live batch
                    |<----- run 1 ----->|<-- run 2 -->|     + control frames)
"""
from __future__ import annotations

import socket
from bisect import bisect_right
from collections import deque
from typing import Callable

Counter = Callable[[int, int], None]  # (frames, trades) -> None


class Run:
    __slots__ = ("start", "ends", "trades", "counter", "done")

    def __init__(self, start: int, ends: list[int], trades: list[int] | int, counter: Counter):
        self.start = start  # stream offset of the first byte
        self.ends = ends  # end offset of each frame, relative to start
        self.trades = trades  # trades per frame (one int when all frames carry the same count)
        self.counter = counter
        self.done = 0  # frames already counted


class Outbox:
    """Pending output of one connection: ``add`` whole frames, ``flush`` to the socket."""

    def __init__(self) -> None:
        self.data = b""  # bytes being sent, from ``pos``
        self.pos = 0
        self.queue: list[bytes] = []  # added since ``data`` was formed
        self.queued_bytes = 0
        self.sent = 0  # stream offset: bytes accepted by the kernel
        self.added = 0  # stream offset: bytes added
        self.runs: deque[Run] = deque()

    @property
    def empty(self) -> bool:
        return self.added == self.sent

    @property
    def pending(self) -> int:
        return self.added - self.sent

    def add(self, chunk: bytes, ends: list[int], trades: list[int] | int, counter: Counter) -> None:
        """Queue ``chunk`` (whole frames ending at ``ends``, relative to the chunk)."""
        self.runs.append(Run(self.added, ends, trades, counter))
        self.queue.append(chunk)
        self.added += len(chunk)

    def add_frame(self, frame: bytes, counter: Counter, trades: int = 0) -> None:
        """Queue one whole frame."""
        self.add(frame, [len(frame)], trades, counter)

    def flush(self, sock: socket.socket) -> bool:
        """Send what the kernel takes; returns True when nothing is left. Raises OSError."""
        if self.queue:
            rest = self.data[self.pos:] if self.pos < len(self.data) else b""
            self.data = b"".join([rest, *self.queue]) if rest or len(self.queue) > 1 else self.queue[0]
            self.pos = 0
            self.queue.clear()
        if self.pos < len(self.data):
            if self.pos:
                with memoryview(self.data) as view:
                    written = sock.send(view[self.pos:])
            else:
                written = sock.send(self.data)
            self.pos += written
            self.sent += written
            self._count()
        if self.pos >= len(self.data):
            self.data = b""
            self.pos = 0
            return not self.queue
        return False

    def _count(self) -> None:
        """Count every frame whose last byte is at or before ``sent``."""
        runs = self.runs
        sent = self.sent
        while runs:
            run = runs[0]
            ends = run.ends
            written = sent - run.start
            whole = len(ends) if written >= ends[-1] else bisect_right(ends, written)
            if whole > run.done:
                frames = whole - run.done
                trades = run.trades * frames if type(run.trades) is int else sum(run.trades[run.done:whole])
                run.counter(frames, trades)
                run.done = whole
            if whole < len(ends):
                return
            runs.popleft()
