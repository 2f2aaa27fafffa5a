"""Reconnect delays: exponential from 100 ms, doubling to a 30 s cap, with jitter.

Jitter is "equal jitter": half the step fixed, half random, so a fleet of
feeds that lost the same venue at once does not reconnect in lockstep. The
sequence starts over once a connection has delivered trades for ``healthy_s``
(a venue that accepts and then drops us, or sends nothing, keeps backing off).
"""
from __future__ import annotations

import random


class Backoff:
    def __init__(self, first_s: float = 0.1, cap_s: float = 30.0, healthy_s: float = 1.0, rng: random.Random | None = None):
        self.first_s, self.cap_s, self.healthy_s = first_s, cap_s, healthy_s
        self._step = first_s
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; the following one doubles (up to the cap)."""
        step = self._step
        self._step = min(self.cap_s, step * 2)
        return step / 2 + self._rng.uniform(0, step / 2)

    def connection_ended(self, healthy_for_s: float) -> None:
        """Tell how long the last connection was healthy; long enough resets the sequence."""
        if healthy_for_s >= self.healthy_s:
            self.reset()

    def copy(self) -> "Backoff":
        """A fresh sequence with the same settings (each of a feed's connections backs off alone)."""
        return Backoff(self.first_s, self.cap_s, self.healthy_s)

    def reset(self) -> None:
        self._step = self.first_s
