"""A single-producer single-consumer ring of fixed-size records in shared memory.

One process pushes, one process pops; neither ever waits for the other.
``push_batch`` drops (and counts) what does not fit; ``pop_batch`` copies
records out and ``commit`` publishes the new tail once they are handled, so a
consumer killed between the two sees the batch again on restart — never skips
it. The ring lives in /dev/shm under ``tickagg.<group>.<ring>`` until removed
with ``remove`` (``tickagg rings --remove GROUP``). Header layout:
shm/header.py; kernels and memory ordering: shm/kernels.py. A ring opened
with ``numba=False`` pushes or reads without Numba (shm/plain.py).
Attaching (creating, checking the layout, replacing a damaged ring or one of
another record layout that no live process holds): shm/ring_attach.py.
"""
from __future__ import annotations

import os
import time

import numpy as np

from shm import header as H
from shm import doorbell, names, plain, ring_attach, segment
from shm.histogram_segment import SEGMENTS
from shm.layouts import describe
from shm.names import ring_name  # noqa: F401 (re-exported: callers name rings through shm.ring)
from shm.ring_errors import RingBusyError, RingDamagedError, RingError
from shm.ring_errors import RingLayoutError, RingOtherLayoutError, RingRefusedError  # noqa: F401 (re-exported)
from shm.ring_watch import RingWatch

PRODUCER, CONSUMER, MONITOR = "producer", "consumer", "monitor"
PREFIX = names.PREFIX
CHECK_EVERY_NS = 250_000_000  # push and pop fstat the ring's file this often (time.time_ns(): one clock read a batch)


class Ring:
    """One SPSC ring, opened in one role: producer, consumer or monitor."""

    def __init__(self, name: str, role: str = MONITOR, dtype: np.dtype | None = None, capacity: int | None = None,
                 numba: bool = True):
        """Attach to ring ``name``; create it first if ``capacity`` is given and it does not exist.

        ``dtype`` must match the ring's record layout (None: take the ring's).
        An existing ring keeps the capacity it was created with.
        ``numba=False``: a producer pushes with plain stores, a consumer or
        monitor pops, peeks and commits with plain loads and ``pread``
        (shm/plain.py) where the CPU allows (x86-64), so the process never
        imports Numba (the feeds and the writer open their rings this way).
        """
        if role not in (PRODUCER, CONSUMER, MONITOR):
            raise ValueError(f"role must be producer, consumer or monitor, not {role!r}")
        if capacity is not None and dtype is None:
            raise ValueError("creating a ring needs its record dtype")
        self.name, self.role = name, role
        self._words = None  # the header as int64 words: plain producers only (record_pusher)
        self._fd, self._memory, self._header, self.dtype = ring_attach.attach(
            name, dtype, capacity, may_replace=role == PRODUCER and capacity is not None)
        try:
            self.capacity = int(self._header[H.W_CAPACITY])
            self._data = np.frombuffer(self._memory, dtype=self.dtype, offset=H.HEADER_BYTES)
            self._claim(role)
            self._kernels = None if (not numba and plain.AVAILABLE) else _kernels()
            if self._kernels is not None:
                self._kernels.warm_up(self.dtype)
            elif role == PRODUCER:  # plain.push copies into the mapping itself
                self._data = self._memory
                self._words = memoryview(self._memory)[: H.HEADER_BYTES].cast("q")  # record_pusher's header
                self._slots = (len(self._memory) - H.HEADER_BYTES) // self.dtype.itemsize
        except BaseException:
            self._release_memory()
            raise
        self._position = int(self._header[H.W_TAIL])  # consumer's read cursor
        self._ops = self._kernels or plain  # push, pop, commit ...
        self._watch = RingWatch(self)
        self._checked_ns = time.time_ns()  # push and pop check again once the clock leaves [checked, next)
        self._next_check_ns = self._checked_ns + CHECK_EVERY_NS

    # -- damage after attach --------------------------------------------------
    def check(self) -> str | None:
        """Look for damage since attach (call every few hundred ms; push and pop do it on their own).

        Returns why the ring can no longer be used (its file changed size: a
        read could SIGBUS), else None; header words written by someone else
        (layout words, impossible positions, resyncs) are logged once per
        incident and ignored: the kernels use what was validated at attach.
        """
        problem = self._watch.look()
        if problem:
            self._next_check_ns = 0  # push and pop raise from now on
        return problem

    def file_and_size(self) -> tuple[int, int]:
        """(file descriptor, size validated at attach): for kernels that look at the size themselves
        (shm/file_size.py) and hand back to ``check`` when it changed."""
        return self._fd, self._watch.expected_size

    def overwritten(self) -> bool:
        """Whether layout words were written over since attach (still used as checked; a restart of either side
        would find the ring damaged)."""
        return bool(self._watch.overwritten())

    def _check_now_and_then(self, now: int) -> None:
        """``check`` once ``now`` (``time.time_ns()``, read once per batch) leaves the window since the last
        check (CHECK_EVERY_NS long; a clock stepped back checks at once); raise once the ring is damaged.
        Push and pop inline the window test: this call costs only when a check is due."""
        if self._checked_ns <= now < self._next_check_ns:
            return
        problem = self._watch.look()
        if problem:
            self._next_check_ns = 0  # every later call raises too
            raise RingDamagedError(problem)
        self._checked_ns, self._next_check_ns = now, now + CHECK_EVERY_NS

    def _damage(self, problem: str) -> None:
        self._watch.mark_damaged(problem)
        self._next_check_ns = 0
        raise RingDamagedError(problem)

    # -- roles ----------------------------------------------------------------
    def _claim(self, role: str) -> None:
        if role == MONITOR:
            return
        lock_byte, pid_word = (
            (H.PRODUCER_LOCK_BYTE, H.W_PRODUCER_PID) if role == PRODUCER else (H.CONSUMER_LOCK_BYTE, H.W_CONSUMER_PID)
        )
        if not segment.try_lock(self._fd, lock_byte):
            holder = int(self._header[pid_word])
            raise RingBusyError(f"{self.name} already has a live {role} (pid {holder}); a ring has one {role} at a time")
        self._header[pid_word] = os.getpid()
        self.heartbeat()

    # -- producer -------------------------------------------------------------
    def push_batch(self, records: np.ndarray) -> int:
        """Push ``records`` (1-D, the ring's dtype); return how many fit, the rest are dropped and counted."""
        if self.role != PRODUCER:
            raise RingError(f"push_batch needs the producer role on {self.name}")
        if records.dtype is not self.dtype and records.dtype != self.dtype:
            raise TypeError(f"{self.name} carries {describe(self.dtype)}, got {describe(records.dtype)}")
        now = time.time_ns()  # the heartbeat, and the clock of the size check
        if not self._checked_ns <= now < self._next_check_ns:
            self._check_now_and_then(now)
        accepted = self._ops.push(self._data, self._header, records, now)
        if self._header[H.W_ASLEEP] and accepted:  # the consumer sleeps on the doorbell (shm/doorbell.py)
            doorbell.ring(self._header, self.bell_address)
        return accepted

    def record_pusher(self, record):
        """A function ``push(fields) -> 1 or 0`` that packs one record with ``record`` (a ``struct.Struct`` of the
        ring's record size) straight into its slot: ``push_batch`` of one record without numpy
        (shm/plain.py ``record_pusher``). Producers opened with ``numba=False`` only (``pushes_records``)."""
        if self._words is None:
            raise RingError(f"record_pusher needs the producer role on {self.name}, opened with numba=False")
        if record.size != self.dtype.itemsize:
            raise TypeError(f"{self.name} carries {self.dtype.itemsize}-byte records, got a {record.size}-byte struct")
        return plain.record_pusher(self._memory, self._words, self._slots, record, self)

    def bytes_pusher(self):
        """A function ``push(data, count) -> accepted``: ``push_batch`` of ``count`` records given as bytes (a
        staging buffer's memoryview), without numpy (shm/plain.py ``bytes_pusher``); ``numba=False`` producers."""
        if self._words is None:
            raise RingError(f"bytes_pusher needs the producer role on {self.name}, opened with numba=False")
        return plain.bytes_pusher(self._memory, self._words, self._slots, self.dtype.itemsize, self)

    # -- consumer -------------------------------------------------------------
    def pop_batch(self, out: np.ndarray, spin_us: float = 0.0) -> int:
        """Copy up to ``len(out)`` records into ``out``; return how many. Call ``commit`` once handled.

        ``spin_us`` > 0: while the ring is empty, busy-poll for up to that long
        inside the kernel (lowest latency, burns the core) before returning 0;
        a ring opened with ``numba=False`` does not spin. Impossible positions
        in the header are repaired first (``kernels.sync``: counted, logged once).
        """
        if self.role != CONSUMER:
            raise RingError(f"pop_batch needs the consumer role on {self.name}; monitors use peek_batch")
        if out.dtype is not self.dtype and out.dtype != self.dtype:
            raise TypeError(f"{self.name} carries {describe(self.dtype)}, got {describe(out.dtype)}")
        now = time.time_ns()
        if not self._checked_ns <= now < self._next_check_ns:
            self._check_now_and_then(now)
        if self._kernels is None:
            self._position = plain.sync(self._header, self._position, self.capacity)
            count = self._pop(out)
        else:
            self._position, count = self._kernels.sync_and_pop(self._data, self._header, self._position, out,
                                                               int(spin_us * 1000) if spin_us > 0 else 0)
        self._position += count
        return count

    def _pop(self, out: np.ndarray) -> int:
        if self._kernels is None:
            try:
                return plain.pop(self._fd, self._header, self._position, out, self.capacity)
            except OSError as exc:
                self._damage(f"{segment.path_of(self.name)} cannot be read ({exc}): truncated?")
        return self._kernels.pop(self._data, self._header, self._position, out)

    def peek_batch(self, out: np.ndarray) -> int:
        """Monitor read: copy records from a private cursor without consuming them.

        Starts at the tail. A record is only safe from the producer while it
        is at or after the tail, so records the consumer released while they
        were being copied (and the producer may have overwritten) are skipped.
        """
        self._check_now_and_then(time.time_ns())
        tail = self.tail
        if self._position < tail or self.head - self._position > self.capacity:
            self._position = max(tail, self.head - self.capacity)  # never older than the tail or out of reach
        count = self._pop(out)
        overwritten = min(count, max(0, self.tail - self._position))
        if overwritten:
            out[: count - overwritten] = out[overwritten:count].copy()
        self._position += count
        return count - overwritten

    def commit(self) -> None:
        """Publish the tail: every record popped so far is handled and its slot may be reused."""
        if self.role != CONSUMER:
            raise RingError(f"only the consumer of {self.name} commits its tail (this is a {self.role})")
        self._ops.commit(self._header, self._position, time.time_ns())

    def advance(self, position: int) -> None:
        """Consumer: treat every record before ``position`` as handled without reading it, and commit."""
        if self.role != CONSUMER:
            raise RingError(f"only the consumer of {self.name} advances its tail (this is a {self.role})")
        if not self.tail <= position <= self.head:
            raise RingError(f"cannot advance {self.name} to {position}: outside tail {self.tail} .. head {self.head}")
        self._position = position
        self.commit()

    def rewind(self) -> None:
        """Forget records popped but not committed: the next pop returns them again."""
        self._position = int(self._header[H.W_TAIL])

    def heartbeat(self) -> None:
        """Mark this role alive without moving data (idle producers and consumers)."""
        word = {PRODUCER: H.W_PRODUCER_HB, CONSUMER: H.W_CONSUMER_HB}.get(self.role)
        if word is not None:
            self._header[word] = time.time_ns()

    # -- for Numba loops that pop, push and commit inside one kernel ---------
    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(records, header)`` arrays for ``shm.kernels`` called from another kernel.

        The caller then follows the ring's protocol itself: producers use
        ``kernels.push``; consumers ``kernels.pop`` from their own position
        (start at ``tail``) and ``kernels.commit`` once records are handled.
        """
        if self._kernels is None:
            raise RingError(f"{self.name} was opened with numba=False: no kernel arrays")
        return self._data, self._header

    # -- state ----------------------------------------------------------------
    @property
    def head(self) -> int:
        return int(self._ops.head_of(self._header))

    @property
    def consumer_asleep(self) -> bool:
        """Whether the consumer waits on this ring's doorbell now (shm/doorbell.py)."""
        return bool(self._header[H.W_ASLEEP])

    @property
    def bell_address(self) -> int:
        """Where this process maps the ring's doorbell word (shm/doorbell.py); 0 once closed."""
        return 0 if self._header is None else doorbell.bell_address(self._header)

    @property
    def pushes_records(self) -> bool:
        """Whether ``record_pusher`` works here: a producer opened with ``numba=False`` (on x86-64)."""
        return self._words is not None

    @property
    def tail(self) -> int:
        return int(self._header[H.W_TAIL])

    @property
    def created_ns(self) -> int:
        return int(self._header[H.W_CREATED_NS])

    @property
    def dropped(self) -> int:
        return int(self._header[H.W_DROPPED])

    @property
    def metrics(self) -> np.ndarray:
        """The producer's 64 counters (feed statistics); names: ``metric_names``."""
        return self._header[H.W_METRICS : H.W_METRICS + H.METRIC_SLOTS]

    @property
    def metric_names(self) -> list[str]:
        text = H.read_text(self._memory, H.METRIC_NAMES_TEXT)
        return text.split(",") if text else []

    @metric_names.setter
    def metric_names(self, names: list[str]) -> None:
        if len(names) > H.METRIC_SLOTS:
            raise ValueError(f"at most {H.METRIC_SLOTS} metrics, got {len(names)}")
        H.write_text(self._memory, H.METRIC_NAMES_TEXT, ",".join(names))

    def status(self) -> dict:
        """Counters and liveness, as ``tickagg rings`` shows them."""
        damaged = self._watch.damaged or self._watch.size_problem()
        if damaged:  # its words may lie past the file's end now
            return {"ring": self.name, "error": damaged, "damaged": True}
        header, now = self._header, time.time_ns()
        head, tail = self.head, self.tail
        problem = self._watch.header_problem()
        return {
            "ring": self.name,
            "capacity": self.capacity,
            "record_bytes": self.dtype.itemsize,
            "head": head,
            "tail": tail,
            "lag": head - tail,
            "dropped": self.dropped,
            "producer_pid": int(header[H.W_PRODUCER_PID]),
            "producer_alive": self._role_alive(H.PRODUCER_LOCK_BYTE),
            "producer_idle_s": _age_s(header[H.W_PRODUCER_HB], now),
            "consumer_pid": int(header[H.W_CONSUMER_PID]),
            "consumer_alive": self._role_alive(H.CONSUMER_LOCK_BYTE),
            "consumer_idle_s": _age_s(header[H.W_CONSUMER_HB], now),
            "producer_resyncs": int(header[H.W_PRODUCER_RESYNCS]),
            "consumer_resyncs": int(header[H.W_CONSUMER_RESYNCS]),
            "skipped": int(header[H.W_SKIPPED]),
            "problem": problem,
            "metrics": dict(zip(self.metric_names, (int(v) for v in self.metrics))),
        }

    def _role_alive(self, lock_byte: int) -> bool:
        mine = (self.role == PRODUCER and lock_byte == H.PRODUCER_LOCK_BYTE) or (
            self.role == CONSUMER and lock_byte == H.CONSUMER_LOCK_BYTE
        )
        return mine or segment.is_locked(self._fd, lock_byte)

    # -- lifetime -------------------------------------------------------------
    def close(self) -> None:
        """Give up the role (the ring stays in shared memory)."""
        if self._memory is None:
            return
        if self._watch.damaged is None:  # a file cut short may end before the header
            if self.role == PRODUCER:
                self._header[H.W_PRODUCER_PID] = 0
            elif self.role == CONSUMER:
                self._header[H.W_CONSUMER_PID] = 0
        self._release_memory()

    def _release_memory(self) -> None:
        self._header = self._data = None
        if self._words is not None:
            self._words.release()
            self._words = None
        ring_attach.release(self._fd, self._memory)  # and with it the role lock
        self._memory = None

    def __enter__(self) -> "Ring":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ring({self.name!r}, role={self.role!r}, capacity={self.capacity})"


def _kernels():
    from shm import kernels  # imports Numba: only for rings that use the kernels

    return kernels


def _age_s(stamp_ns, now_ns: int) -> float | None:
    return None if stamp_ns == 0 else round((now_ns - int(stamp_ns)) / 1e9, 3)


def group_rings(group: str | None = None) -> list[str]:
    """Ring names in shared memory, for one group (exactly that group's: shm/names.py) or all."""
    found = names.group_segments(group) if group else segment.names(PREFIX)
    others = (".symbols", *(f".{short}" for short in SEGMENTS.values()))  # the directory, latency histograms
    return [n for n in found if not n.endswith(others)]


def remove(name: str) -> bool:
    """Delete a ring from shared memory. Attached processes keep their mapping."""
    return segment.remove(name)
