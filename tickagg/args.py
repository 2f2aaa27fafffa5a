"""Argument types and the usage error every `tickagg` command shares: bad values fail in one line, exit status 2.

Each ``*_command.py`` module declares its options with these types, so argparse
refuses nonsense before anything starts (a negative rate, ``--batch-rows 0``, an
``http://`` feed URL, ``--symbols ,,,``). What can only be checked once a command
knows more (symbols per connection, a CA file) raises ``UsageError``, which
``tickagg.cli.main`` prints as one line with exit status 2. A leaf module (stdlib
only): the command modules of every package may import it.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
from typing import Callable
from urllib.parse import urlsplit


class UsageError(Exception):
    """Bad arguments or configuration, found by a command before it runs: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (``tickagg feed: --rate: ...``) instead of usage + error."""

    def error(self, message: str) -> None:  # noqa: D102 — argparse's hook
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def _number(kind: type, low: float | None, low_open: bool, high: float | None = None,
            high_open: bool = False) -> Callable[[str], float]:
    """A type converting to ``kind`` and refusing NaN, infinities and values outside the bounds."""
    words = {(0, True): "positive", (0, False): "zero or more"}
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            want = words.get((low, low_open)) or f"{'above' if low_open else 'at least'} {low:g}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {want}")
        if high is not None and (value >= high if high_open else value > high):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'below' if high_open else 'at most'} {high:g}")
        return value
    convert.__name__ = f"{'positive' if low_open else 'non-negative'} {'integer' if kind is int else 'number'}"
    return convert


positive_int = _number(int, 0, True)
non_negative_int = _number(int, 0, False)
positive_float = _number(float, 0, True)
non_negative_float = _number(float, 0, False)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An integer in [low, high]."""
    return _number(int, low, False, high)


def bounded_float(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """A finite number in [low, high]; ``low_open`` / ``high_open`` leave that bound out."""
    return _number(float, low, low_open, high, high_open)


def power_of_two(text: str) -> int:
    """A ring capacity: a power of two, at least 2."""
    value = int(_number(int, 2, False)(text))
    if value & (value - 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a power of two")
    return value


def port(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    return int(_number(int, 0, False, 65535)(text))


def ws_url(text: str) -> str:
    """A WebSocket URL: ws:// or wss:// with a host (and a valid port, if one is given)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 — raises ValueError on a bad port
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("ws", "wss"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a WebSocket URL: use ws://host[:port]/path or wss://...")
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} has no host")
    return text


def log_level(text: str) -> str:
    """A logging level name (DEBUG, INFO, WARNING, ERROR, CRITICAL), any case."""
    level = text.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") or not isinstance(logging.getLevelName(level), int):
        raise argparse.ArgumentTypeError(f"{text!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def name_list(text: str) -> list[str]:
    """Comma-separated names (``BTCUSDT,ETHUSDT``): at least one, no empty item, no spaces inside a name."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty item: give comma-separated names, e.g. A,B")
    spaced = [item for item in items if any(c.isspace() for c in item)]
    if spaced:
        raise argparse.ArgumentTypeError(f"{spaced[0]!r} contains whitespace")
    return items
