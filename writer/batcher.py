"""Per-ring batching: pop records into a buffer, say when a batch is due, commit the tail once it is durable.

A batch is everything popped from one ring since its last commit, so the ring's
tail moves exactly to the end of the batch that became durable (Ring.commit
publishes every record popped so far). Triggers, whichever comes first:

- ``batch_rows`` rows (default 1,000; none with chDB, writer.py) or ``batch_ms`` ms since the first record
  could have arrived (default 50) while the store is up: a batch's age counts
  from the last time its ring was seen drained (any record popped since came
  in after that), so a writer that sleeps between looks still flushes every
  record within ``batch_ms`` of its arrival;
- a *quiet* ring (fewer than ``QUIET_ROWS`` rows popped in the last one to
  two seconds, this batch's included; a summary ring, looked at only every
  ``quiet_summary_ms`` while quiet, that many seconds' worth: it brings them
  at once) waits ``quiet_batch_ms`` instead of ``batch_ms`` (writer.py): an
  idle group then makes a few inserts a second, not one per tick; a burst ends
  the quiet at its ``QUIET_ROWS``-th row (while every ring is quiet the writer
  reads the ticks ring's head every 0.2 s, so a burst after a silence waits at
  most that, and pops it on the report's beat, once a second; the other quiet
  rings every ``quiet_summary_ms``, which is also their quiet batch age:
  writer.py);
- ``spill_rows`` / ``spill_ms`` while it is down (bigger batches: fewer spill
  records and fewer checks on replay);
- the buffer is full (``capacity`` rows: ``max_batch_rows`` capped by the ring
  size and the memory budget).

A pop takes whatever the ring holds, up to the room left in the buffer, so
when inserts fall behind the next batch is larger (one insert of up to
``capacity`` rows instead of many small ones): that is how the writer keeps up
at high rates and stays at ~``batch_rows`` per insert at low ones.

A stored batch of big records (out.features: 11 KiB rows, a minute close of
2,378 symbols fills 26 MB of the buffer once a minute) gives the buffer's
pages back, and the heap's free pages what encoding it allocated
(writer/buffer_pages.py), so the writer does not keep a minute
close's size resident between closes.

A batch whose insert may have reached the store (in doubt) is *frozen*: the
ring is not popped further until that exact batch (same start, end and id) is
durable, so retrying it never changes its id.
"""
from __future__ import annotations

import os
import struct
import time

import numpy as np

from store.batch import Batch, ring_key
from store.tables import Table
from shm import header as H
from shm import segment
from shm.layouts import upgrade
from shm.ring import Ring
from writer.buffer_pages import give_back

QUIET_ROWS = 50  # a ring that brought fewer rows in about the last second is quiet (an idle group: ~10 ticks/s)
GIVE_BACK_RECORD_BYTES = 4096  # a stored batch of records this big (feature rows) gives its buffer's pages back


def ring_incarnation(name: str) -> int:
    """The ring's creation time (ns) from its header: positions restart when a ring is recreated."""
    fd, memory = segment.open_segment(name)
    try:
        return struct.unpack_from("<q", memory, H.W_CREATED_NS * 8)[0]
    finally:
        memory.close()
        os.close(fd)


class RingBatcher:
    def __init__(self, ring: Ring, table: Table, capacity: int, quiet_s: float = 0.0):
        self.ring, self.table = ring, table
        self.quiet_s = quiet_s  # this ring's batch age while quiet; a quiet, empty ring other than the ticks' is looked at this often
        self.summary = table.name != "ticks"  # bars, features, regime, latency, events: looked at less often when quiet
        self.half = ring.capacity // 2
        self.name = ring.name
        self.key = ring_key(ring.name)
        self.incarnation = ring_incarnation(ring.name)
        self.buffer = np.empty(capacity, ring.dtype)
        self.start = ring.tail  # ring position of buffer[0]
        self.count = 0
        self.first_s = 0.0  # when the oldest buffered record could have arrived at the earliest
        self.drained_s = time.monotonic()  # when a pop last found the ring empty (later records arrived after it)
        self.rate = 0.0  # rows/s of the last batch, halved by each look that finds nothing (for wake_in)
        self.frozen: Batch | None = None
        self.retry_at = 0.0
        self._window_s = self.drained_s  # rows popped in the current second-long window, and in the one before
        self._window_rows = self._previous_rows = 0
        # rows a quiet ring may bring in a window: a summary ring looked at every quiet_s brings quiet_s seconds' rows
        # at once (out.latency: ~30 rows/s whatever the traffic, 60 per 2 s look), which is no burst
        self.quiet_rows = QUIET_ROWS * max(1.0, quiet_s) if self.summary else QUIET_ROWS

    @property
    def capacity(self) -> int:
        return len(self.buffer)

    @property
    def pending_bytes(self) -> int:
        return self.count * self.buffer.itemsize

    def pop(self, group_quiet: bool = False, ahead_s: float = 0.0) -> int:
        """Pop what fits into the buffer; 0 while a frozen batch waits. A quiet, empty ring is only popped when its
        head moved (a look costs a header read, after the ring's own damage check when one is due); while the whole
        group is quiet (``group_quiet``: this ring too), one other than the ticks' is looked at only every
        ``quiet_s`` (or up to ``ahead_s`` sooner: the writer's next look would be later)."""
        if self.frozen is not None or self.count == len(self.buffer):
            return 0
        if not self.count and group_quiet and self.summary and time.monotonic() + ahead_s - self.drained_s < self.quiet_s:
            return 0  # not looked at: summaries (bars, latency, features, events) wait a quiet age anyway
        if not self.count and self.quiet:
            if not self._arrived():
                self.drained_s = time.monotonic()
                self.rate /= 2
                return 0
        room = len(self.buffer) - self.count
        now = time.monotonic()
        got = self.ring.pop_batch(self.buffer[self.count :])
        if now - self._window_s >= 1.0:
            self._previous_rows = self._window_rows if now - self._window_s < 2.0 else 0
            self._window_s, self._window_rows = now, 0
        if got:
            if not self.count:
                self.first_s = self.drained_s
            self.count += got
            self._window_rows += got
        elif not self.count:
            self.rate /= 2
        if got < room:  # the ring had no more: whatever comes next arrives after now
            self.drained_s = now
        return got

    def _arrived(self) -> bool:
        """Whether the producer pushed past what this batcher took (the ring's damage check first, as a pop does)."""
        self.ring._check_now_and_then(time.time_ns())
        return self.ring.head != self.start

    def unpopped(self) -> int:
        """Records in the ring past what this batcher took (a header read, after the damage check when due)."""
        self.ring._check_now_and_then(time.time_ns())
        return self.ring.head - self.start - self.count

    @property
    def quiet(self) -> bool:
        """Fewer than ``quiet_rows`` rows popped in the last one to two seconds (the buffer's included)."""
        return self._window_rows + self._previous_rows < self.quiet_rows and self.count < self.quiet_rows

    def age_limit(self, age_s: float, quiet: bool = True) -> float:
        """The batch age that applies now: this ring's quiet age while it is quiet (if ``quiet`` batches apply and
        it is longer), else ``age_s``."""
        return self.quiet_s if quiet and self.quiet_s > age_s and self.quiet else age_s

    def due(self, now_s: float, rows: int, age_s: float, ahead_s: float = 0.0) -> bool:
        """Whether the batch is to be made durable now: by rows, a full buffer, or its age reached by ``now_s`` or
        within ``ahead_s`` (the writer's next look would be later); a frozen one when its retry is due."""
        if self.frozen is not None:
            return now_s >= self.retry_at
        return self.count > 0 and (self.count >= rows or self.count == len(self.buffer) or now_s + ahead_s - self.first_s >= age_s)

    def wakes_before(self, look_s: float, rows: int) -> bool:
        """Whether ``wake_in`` may be shorter than ``look_s`` (the writer's own next look, never longer than an empty
        ring's age limit): not for an empty ring whose last rate brings ``rows`` no sooner than that."""
        return bool(self.count) or self.frozen is not None or self.rate * look_s > min(rows, self.half)

    def wake_in(self, now_s: float, rows: int, age_s: float) -> float:
        """Seconds until this batch may be due: its age limit, or sooner when the rate since ``first_s`` would bring
        it to ``rows`` (or its buffer full, or the ring half full) first (an estimate: a look then finds it due, or sleeps again); when it is empty, the time the
        last batch's rate takes to bring ``rows``, at most ``age_s`` (a record arriving meanwhile counts its age from
        the last look, so it is flushed on the next one at the latest)."""
        if self.frozen is not None:
            return self.retry_at - now_s
        if not self.count:
            return min(age_s, min(rows, self.ring.capacity // 2) / self.rate) if self.rate > 0 else age_s
        elapsed = now_s - self.first_s
        by_age = self.first_s + age_s - now_s
        target = min(rows, len(self.buffer), self.count + self.ring.capacity // 2)  # due, or the ring half full
        if self.count >= target or elapsed <= 0:
            return by_age
        return min(by_age, (target - self.count) * elapsed / self.count)

    def batch(self) -> Batch:
        """The batch to make durable now (the frozen one, or everything popped)."""
        if self.frozen is None:
            records = upgrade(self.buffer[: self.count], self.table.dtype)  # a ring of an earlier layout: current records
            return Batch(self.name, self.incarnation, self.start, self.start + self.count, self.table, records,
                         store_ids=False)
        return self.frozen

    def freeze(self, batch: Batch, retry_at: float) -> None:
        """Keep ``batch`` as it is (its records stay in the buffer) until it is durable."""
        self.frozen, self.retry_at = batch, retry_at

    def durable(self, batch: Batch) -> None:
        """``batch`` is in the store or the spill: publish the tail past it."""
        assert batch.start == self.start and batch.end == self.start + self.count, (batch, self.start, self.count)
        self.rate = self.count / max(time.monotonic() - self.first_s, 1e-3)
        self.ring.commit()
        if self.buffer.itemsize >= GIVE_BACK_RECORD_BYTES:  # a minute close's feature rows: ~26 MB, once a minute
            give_back(self.buffer[: self.count])
        self.start, self.count, self.frozen = batch.end, 0, None

    def skip(self, end: int) -> int:
        """Drop records up to ring position ``end`` (durable before a restart); return how many."""
        scratch = np.empty(min(65536, len(self.buffer)), self.ring.dtype)
        skipped = 0
        while self.start + skipped < end:
            got = self.ring.pop_batch(scratch[: min(len(scratch), end - self.start - skipped)])
            if not got:
                break
            skipped += got
        self.ring.commit()
        self.start += skipped
        return skipped

    def reload(self, start: int, end: int) -> Batch | None:
        """Pop exactly [start, end) again as one frozen, in-doubt batch (after a restart)."""
        want = end - start
        if start != self.start:
            return None
        if want > len(self.buffer):  # written with a bigger --max-batch-rows: the batch must stay whole
            self.buffer = np.empty(want, self.ring.dtype)
        got = 0
        while got < want:
            n = self.ring.pop_batch(self.buffer[got:want])
            if not n:
                self.ring.rewind()
                return None
            got += n
        self.count = want
        batch = Batch(self.name, self.incarnation, start, end, self.table, self.buffer[:want], in_doubt=True,
                      store_ids=False)
        self.frozen, self.retry_at = batch, 0.0
        return batch

    def close(self) -> None:
        self.ring.close()
