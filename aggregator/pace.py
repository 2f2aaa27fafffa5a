"""How long the aggregator's next Numba slice lasts and how long it may sleep in it: normal or quiet.

Normal: slices of SLICE_S (50 ms), naps backing off to ``idle_sleep_us``
(1 ms): ~1,000 wakeups a second when nothing comes, each tick popped within
~1 ms. Quiet, once the last QUIET_WINDOW_S held at most QUIET_TICKS ticks (an
idle group: a few ticks a second): slices of QUIET_SLICE_S (1 s: the Python
chores between slices, ~0.5 ms each, run once a second instead of twenty
times) in which the kernel sleeps on the input rings' doorbells
(shm/doorbell.py): a producer's push wakes it (~1 µs for the producer, the
tick popped within the wakeup's latency, tens of µs), and a wait times out
after BELL_WAIT_US (150 ms), sooner when a bar closes or the slice ends: ~7
wakeups a second plus one per tick and one per bar close. A missed wake costs
at most that timeout, never a tick. Without a doorbell (``doorbell`` off, or
refused by the kernel: futex_waitv needs Linux 5.16) naps back off to
``deep_sleep_us`` (5 ms, at most MAX_DEEP_SLEEP_US) instead, ~250 wakeups a
second, a tick popped within that. After a tick the naps start again at
``min_sleep_us`` (a doorbell wait ends at the next push anyway), so the rest of
a burst waits no longer than when normal, and more than QUIET_TICKS ticks end a
quiet slice at once (``max_ticks``) and make the next one normal. The kernel
looks at the ring files' sizes every CHECK_S inside a slice (after a wait that
ends later: at its end) and returns at once when one changed
(aggregator/poll.py: a cut ring is let go before it is read or written past its
end, SIGBUS), so a ring file cut short is noticed within 250 ms whatever the
slice: one check interval and one nap or doorbell wait (50 + 150 ms) and the
checks. New tick rings are looked for between slices (aggregator/main.py): within
about a second even when quiet.
"""
from __future__ import annotations

from collections import deque

MIN_SLEEP_US = 500.0  # the first nap after a look that found nothing (``--min-sleep-us``: aggregator/main.py)
IDLE_SLEEP_US = 1000.0  # ... doubling up to this (``--idle-sleep-us``): the wake bound while ticks flow
SLICE_S = 0.05  # time in Numba between Python chores (signals, ring checks, counters)
QUIET_SLICE_S = 1.0  # the same while quiet (the kernel still looks at the ring files every CHECK_S)
CHECK_S = 0.05  # how often the kernel compares the ring files' sizes with those validated at attach
QUIET_WINDOW_S = 1.0  # how far back the tick count looks
QUIET_TICKS = 25  # at most this many ticks in the window: quiet
MAX_DEEP_SLEEP_US = 40_000  # the longest timed nap (~25 wakeups a second at worst when quiet without a doorbell)
BELL_WAIT_US = 150_000  # the longest doorbell wait: CHECK_S + a wait < 250 ms keeps the ring-check bound


class Pace:
    def __init__(self, max_sleep_us: int, deep_sleep_us: int, started: float, doorbell: bool = True):
        """``max_sleep_us`` 0 (busy-poll) or ``deep_sleep_us`` <= ``max_sleep_us``: never quiet. ``doorbell``:
        quiet slices wait on the doorbells (else they nap)."""
        self.max_sleep_us = max_sleep_us
        self.doorbell = doorbell
        self.deep_sleep_us = min(int(deep_sleep_us), MAX_DEEP_SLEEP_US)
        self.enabled = max_sleep_us > 0 and self.deep_sleep_us > max_sleep_us
        self._recent: deque[tuple[float, int]] = deque()  # (slice end, ticks) over the last window
        self._in_window = 0
        self._full_from = started + QUIET_WINDOW_S  # not quiet before a whole window was seen
        self.quiet = False

    def after_slice(self, now: float, ticks: int) -> None:
        """Count a finished slice; decide the next one."""
        self._recent.append((now, ticks))
        self._in_window += ticks
        while self._recent and self._recent[0][0] <= now - QUIET_WINDOW_S:
            self._in_window -= self._recent.popleft()[1]
        self.quiet = self.enabled and now >= self._full_from and self._in_window <= QUIET_TICKS

    @property
    def slice_ns(self) -> int:
        return int((QUIET_SLICE_S if self.quiet else SLICE_S) * 1e9)

    @property
    def max_ticks(self) -> int:
        """Ticks after which the next slice ends early (0: never): a burst ends a quiet slice."""
        return QUIET_TICKS if self.quiet else 0

    @property
    def sleep_us(self) -> int:
        """The longest nap of the next slice."""
        return self.deep_sleep_us if self.quiet else self.max_sleep_us

    @property
    def bell_ns(self) -> int:
        """The longest doorbell wait of the next slice (0: it naps)."""
        return BELL_WAIT_US * 1000 if self.quiet and self.doorbell else 0
