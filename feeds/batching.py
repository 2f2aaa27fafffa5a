"""Read batching: a bounded wait before the next read, only while traffic is light (issue 12).

A feed woken for every frame pays a wakeup per frame (the kernel's and the
interpreter's, cold after other processes ran: tens of µs on a busy machine),
which dominates at a few thousand frames/s. While frames come often enough
that a wait of ``wait_s`` (1 ms by default, at most 5 ms) is expected to gather at least
``MIN_FRAMES_PER_WAIT`` of them, and the feed is woken at least twice per
``wait_s``, the loop sleeps ``wait_s`` after a read that brought data, so
the next read takes every frame that came meanwhile: one wakeup for several
frames. It does not wait when frames are rarer (nothing would gather: at 800
evenly spaced frames/s a 1 ms wait would only add a wakeup), when they come in
bursts read one per wakeup anyway (a sender that batches its writes), nor
when more than ``MAX_FRAMES_PER_WAIT`` are expected (reads then gather plenty
by themselves: traffic is not light). The rates are the feed's frame and read
counters between housekeeping rounds (every 50 ms while busy), so the
decision costs nothing per read (``ReadBatching.update``).

The wait is the feed's latency and is shown as such: a read that follows a
wait stamps its frames with the time the wait began (``stamp``, shared with
the sessions: feeds/session.py ``received``), so receive-to-ring latency
(`tickagg bench feed --rate`, the aggregator's stage histograms) includes it
in full, as an upper bound for frames that arrived during the wait.

``wait_s`` 0 turns it off (the lowest latency): ``tickagg feed --batch-wait-us``, or for
every feed a `tickagg run` starts the deployment file's ``feeds.batch_wait_us`` or
``TICKAGG_FEED_BATCH_WAIT_US`` (tickagg/config_schema.py). A longer
wait, up to ``MAX_WAIT_US``, buys CPU with latency: in `bench e2e` at 80k ticks/s
on the 2-core VM, 2 ms here and 2 ms naps in the aggregator (its --min-sleep-us and
--idle-sleep-us) took the group from 62-66% of a core to 51-53%, and tick-to-signal
p99 from 3.6-4.8 ms to 6.3 ms (each feed read 450-1,140 times a second, not 530-1,830).
"""
from __future__ import annotations

import time

DEFAULT_WAIT_US = 1000.0
MAX_WAIT_US = 5000.0
ENV = "TICKAGG_FEED_BATCH_WAIT_US"
MIN_FRAMES_PER_WAIT = 2.0  # a wait expected to gather fewer frames would only add a wakeup
MAX_FRAMES_PER_WAIT = 64.0  # more: reads gather enough on their own, a wait would only add latency
MIN_WAKEUPS_SAVED = 2.0  # waits start where they at least halve the reads (wakeups) per second
PROBE_EVERY_S = 1.0  # while waiting, one housekeeping round this often reads without waits (see ``update``)


class ReadBatching:
    """When to wait before the next read; ``stamp[0]``: the receive time of the reads that follow a wait."""

    def __init__(self, wait_s: float):
        self.wait_s = max(0.0, wait_s)
        self.stamp = [0]  # ns; 0: no wait pending (a read stamps its own time)
        self.active = False
        self.waits = 0
        self._frames, self._reads, self._at, self._probe_at = 0, 0, time.monotonic(), 0.0
        self._low = MIN_FRAMES_PER_WAIT / self.wait_s if self.wait_s else float("inf")  # frames/s
        self._high = MAX_FRAMES_PER_WAIT / self.wait_s if self.wait_s else 0.0
        self._wakeups = MIN_WAKEUPS_SAVED / self.wait_s if self.wait_s else float("inf")  # reads/s

    def update(self, frames: int, reads: int, now: float) -> None:
        """At housekeeping: ``frames`` and ``reads``, the feed's counters.

        Waits start when frames come at ``MIN_FRAMES_PER_WAIT`` to ``MAX_FRAMES_PER_WAIT`` per wait and
        the reads (without waits) are at least ``MIN_WAKEUPS_SAVED`` times the waits that would replace
        them (at most one per ``wait_s``): frames that already come
        in bursts (a sender that batches its writes) are read one burst per wakeup anyway, and a wait
        would only add latency. Waits go on while the frame rate stays in range; every
        ``PROBE_EVERY_S`` one round reads without them, to see whether bursts have made them pointless.
        """
        elapsed = now - self._at
        frame_rate = (frames - self._frames) / elapsed if elapsed > 0.0 else 0.0
        read_rate = (reads - self._reads) / elapsed if elapsed > 0.0 else 0.0
        self._frames, self._reads, self._at = frames, reads, now
        if elapsed <= 0.0:  # no time passed (or another clock): measure from here
            return
        in_range = self._low <= frame_rate <= self._high
        if self.active:
            if not in_range or now >= self._probe_at:
                self.active = False  # the next round measures reads without waits
        elif in_range and read_rate > self._wakeups:
            self.active = True
            self._probe_at = now + PROBE_EVERY_S

    def wait(self) -> None:
        """Sleep ``wait_s``; the reads that follow are stamped with its start (the loop clears ``stamp``)."""
        self.stamp[0] = time.time_ns()
        self.waits += 1
        time.sleep(self.wait_s)
