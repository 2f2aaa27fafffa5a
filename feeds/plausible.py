"""Plausibility rules a trade must pass before it becomes a tick (the feed's TickWriter and ``tickagg parse``).

A parser checks that each field has the right form (feeds/normalize.py); these
rules check that the values make sense, so one absurd trade cannot poison what
comes after it (a trade dated 10 years ahead made every later tick "late"):

| rule | default | why |
| --- | --- | --- |
| exchange time at most ``behind_s`` before the receive time | 300 s | venues stamp trades when matched: normal lag is milliseconds, seconds under load; a replay after a reconnect fills the outage (backoff cap 30 s + stale limit up to 60 s) with room to spare; older ticks are late for 1 s bars anyway |
| exchange time at most ``ahead_s`` after the receive time | 10 s | only clock error puts a trade in the future: NTP keeps both clocks within milliseconds, 10 s allows a badly kept host |
| price within ``[min_price, max_price]`` | 1e-12 .. 1e12 | finite and positive; 1e-12 is far below any quoted price (satoshi-priced tokens are ~1e-8), 1e12 far above any (BTC in the cheapest quote currency) |
| size within ``[min_size, max_size]`` | 1e-12 .. 1e15 | lot sizes are >= 1e-8; 1e15 covers meme-token quantities and contract counts |

A trade that fails is dropped and counted per kind (``implausible_time``,
``implausible_price``, ``implausible_size``); the other trades of its frame are kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Limits:
    """The bounds of a plausible trade (see the table above); ``Limits()`` holds the defaults."""

    behind_s: float = 300.0
    ahead_s: float = 10.0
    min_price: float = 1e-12
    max_price: float = 1e12
    min_size: float = 1e-12
    max_size: float = 1e15
    _behind_ns: float = field(default=0, init=False, repr=False, compare=False)  # bounds' offsets, worked out once
    _ahead_ns: float = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("behind_s", "ahead_s", "min_price", "max_price", "min_size", "max_size"):
            value = getattr(self, name)
            if not value >= 0.0:  # also refuses NaN
                raise ValueError(f"plausibility limit {name} must be a number >= 0, got {value!r}")
        if self.min_price > self.max_price or self.min_size > self.max_size:
            raise ValueError(f"plausibility limits: a minimum above its maximum in {self}")
        object.__setattr__(self, "_behind_ns", int(self.behind_s * _NS_PER_S) if self.behind_s < math.inf else math.inf)
        object.__setattr__(self, "_ahead_ns", int(self.ahead_s * _NS_PER_S) if self.ahead_s < math.inf else math.inf)

    def bounds(self, recv_ns: int) -> tuple:
        """(oldest ns, newest ns, min price, max price, min size, max size) for trades received at ``recv_ns``."""
        return (recv_ns - self._behind_ns, recv_ns + self._ahead_ns,  # inf: -inf and inf, as no bound
                self.min_price, self.max_price, self.min_size, self.max_size)

    def value_error(self, price: float, size: float) -> str | None:
        """The kind of the first rule that price and size break (no time rule), or None."""
        if not self.min_price <= price <= self.max_price:
            return "implausible_price"
        if not self.min_size <= size <= self.max_size:
            return "implausible_size"
        return None


# no rule at all (a TickWriter built without limits: tests and tools that stage old or synthetic trades)
UNCHECKED = Limits(math.inf, math.inf, 0.0, math.inf, 0.0, math.inf)


def broken_rule(bounds: tuple, price: float, size: float, ts_ns: int) -> str:
    """Which rule a trade outside ``bounds`` (from ``Limits.bounds``) breaks, as its counter kind."""
    oldest, newest, min_price, max_price, min_size, max_size = bounds
    if not oldest <= ts_ns <= newest:
        return "implausible_time"
    if not min_price <= price <= max_price:
        return "implausible_price"
    return "implausible_size"


def parse_pair(text: str, what: str) -> tuple[float, float]:
    """``"A,B"`` (or one number for both) as two floats: the command-line form of a window or range."""
    parts = [part.strip() for part in text.split(",")]
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers *= 2
    if len(numbers) != 2 or not all(number >= 0.0 for number in numbers):
        raise ValueError(f"{what} wants one or two numbers >= 0 separated by a comma, got {text!r}")
    return numbers[0], numbers[1]
