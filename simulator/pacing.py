"""Trade pacing: a token bucket per venue, drawn from once per event-loop tick."""
from __future__ import annotations

MAX_TRADES_PER_TICK = 1024  # one tick's batch per venue: bounds the bytes queued per connection
MIN_TICK_S = 0.001  # a finite rate is served in ticks of at least 1 ms
BURST_S = 0.05  # tokens saved while blocked or idle: at most this many seconds' worth


class TokenBucket:
    """``rate`` trades per second; ``None`` means as fast as the sockets take them."""

    def __init__(self, rate: float | None, now: float):
        self.set_rate(rate, now)

    def set_rate(self, rate: float | None, now: float) -> None:
        self.rate = rate if rate and rate > 0 else None
        self.tokens = 0.0
        self.last = now

    def take(self, now: float) -> int:
        """Whole trades allowed now (at most ``MAX_TRADES_PER_TICK``)."""
        if self.rate is None:
            return MAX_TRADES_PER_TICK
        cap = max(self.rate * BURST_S, 1.0)
        self.tokens = min(self.tokens + (now - self.last) * self.rate, cap)
        self.last = now
        allowed = min(int(self.tokens), MAX_TRADES_PER_TICK)
        self.tokens -= allowed
        return allowed

    def borrow(self, trades: int) -> None:
        """``trades`` more were used than taken (a multi-trade frame is never split)."""
        if self.rate is not None:
            self.tokens -= trades

    def wait(self, now: float) -> float:
        """Seconds until a tick with at least one trade is due."""
        if self.rate is None:
            return 0.0
        short = 1.0 - (self.tokens + (now - self.last) * self.rate)
        return max(short / self.rate, self.last + MIN_TICK_S - now, 0.0)

    def describe(self) -> float | str:
        return "max" if self.rate is None else self.rate
