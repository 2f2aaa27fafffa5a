"""The wall clock in every unit a venue writes, as bytes, read once per event-loop tick.

Trade templates name these with ``%(ms)s`` and friends (see templates.py); the
values dict also carries ``id`` (the trade id, an int) while a frame is filled in.
"""
from __future__ import annotations

import time

ID = b"id"


class Clock:
    """``values`` maps b"ms", b"us", b"ns", b"s", b"iso_ms", b"iso_us" to the time as bytes."""

    def __init__(self, offset_ns: int = 0) -> None:
        self.offset_ns = offset_ns
        self.values: dict[bytes, object] = {ID: 0}
        self._second = -1
        self._date = b""
        self.tick()

    def tick(self, ns: int | None = None) -> dict[bytes, object]:
        """Read the clock (or take ``ns``, the venue's time); returns ``values``, refreshed."""
        if ns is None:
            ns = time.time_ns() + self.offset_ns
        values = self.values
        us = ns // 1_000
        ms = ns // 1_000_000
        second = ns // 1_000_000_000
        if second != self._second:
            self._second = second
            self._date = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        values[b"ns"] = b"%d" % ns
        values[b"us"] = b"%d" % us
        values[b"ms"] = b"%d" % ms
        values[b"s"] = b"%d" % second
        values[b"iso_us"] = b"%s.%06dZ" % (self._date, us % 1_000_000)
        values[b"iso_ms"] = b"%s.%03dZ" % (self._date, ms % 1_000)
        return values

    def at(self, ns: int) -> dict[bytes, object]:
        """A separate values dict for another wall-clock instant (replays: trades from the recent past)."""
        return Clock().tick(ns + self.offset_ns)


def iso_now(digits: int = 6) -> str:
    """``2024-05-01T12:00:00.123456Z`` for control frames that carry a time."""
    ns = time.time_ns()
    fraction = str(ns % 1_000_000_000).rjust(9, "0")[:digits]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{fraction}Z"


def ms_now() -> int:
    return time.time_ns() // 1_000_000
