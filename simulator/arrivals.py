"""Market-like arrivals for one venue: Poisson events with bursts, skewed over symbols.

Events (a taker order; on a venue that batches, one frame of several trades)
arrive as a Poisson process whose rate switches between a calm and a burst
level (a two-state Markov chain: bursts ``BURST_FACTOR`` times the calm rate,
``BURST_SHARE`` of the time, ``BURST_S`` long on average), scaled so the long-run
mean is ``rate`` events per second. Each event picks its symbol by Zipf
weights (rank k weighs 1 / k**zipf: a few symbols carry most trades). All
randomness comes from one ``random.Random(seed)``: the same seed and the same
sequence of ``take`` times give the same counts and symbols.
"""
from __future__ import annotations

import itertools
import random

BURST_FACTOR = 4.0  # a burst's event rate, in calm rates
BURST_SHARE = 0.05  # fraction of the time spent in bursts
BURST_S = 0.25  # mean length of a burst
MAX_BACKLOG_S = 0.05  # events older than this when the market was blocked (a slow reader) are not made up


class Arrivals:
    def __init__(self, rate: float, symbols: int, seed: int, now: float, zipf: float = 1.2):
        if symbols < 1:
            raise ValueError("arrivals need at least one symbol")
        self.rng = random.Random(seed)
        self.population = range(symbols)
        self.cum_weights = list(itertools.accumulate(1.0 / (rank + 1) ** zipf for rank in range(symbols)))
        self.burst = False
        self.skipped = 0.0  # events not made up after a block (about: the calm rate times the time skipped)
        self.set_rate(rate, now)

    def set_rate(self, rate: float, now: float) -> None:
        """Mean events per second from ``now`` on."""
        if not rate or rate <= 0:
            raise ValueError("arrivals need a positive rate")
        self.rate = rate
        self.calm_rate = rate / (1.0 - BURST_SHARE + BURST_SHARE * BURST_FACTOR)
        self.next_switch = now + self._stay()
        self.next_at = now + self._gap()

    def _current(self) -> float:
        return self.calm_rate * (BURST_FACTOR if self.burst else 1.0)

    def _gap(self) -> float:
        return self.rng.expovariate(self._current())

    def _stay(self) -> float:
        """How long the current state lasts (exponential)."""
        mean = BURST_S if self.burst else BURST_S * (1.0 - BURST_SHARE) / BURST_SHARE
        return self.rng.expovariate(1.0 / mean)

    def take(self, now: float) -> int:
        """Events due by ``now`` since the last call."""
        floor = now - MAX_BACKLOG_S
        if self.next_at < floor:  # the market was blocked (or the loop late): skip to the backlog's start
            self.skipped += (floor - self.next_at) * self.rate
            while self.next_switch < floor:
                self.burst = not self.burst
                self.next_switch += self._stay()
            self.next_at = floor + self._gap()
        count = 0
        while True:
            if self.next_switch <= self.next_at:
                if self.next_switch > now:
                    return count
                switch = self.next_switch
                self.burst = not self.burst
                self.next_switch = switch + self._stay()
                self.next_at = switch + self._gap()  # memoryless: redraw at the new rate
            elif self.next_at <= now:
                count += 1
                self.next_at += self._gap()
            else:
                return count

    def wait(self, now: float) -> float:
        """Seconds until the next event."""
        return max(self.next_at - now, 0.0)

    def pick(self, count: int) -> list[int]:
        """The symbol index (0 = most active) of each of ``count`` events."""
        return self.rng.choices(self.population, cum_weights=self.cum_weights, k=count)
