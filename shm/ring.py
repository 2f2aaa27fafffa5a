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

import time

import numpy as np

from shm import header as H
from shm import doorbell, names, plain, segment
from shm.histogram_segment import SEGMENTS
from shm.layouts import DtypeForm, describe, stored_form
from shm.names import ring_name  # noqa: F401 (re-exported: callers name rings through shm.ring)
from shm.plain_ring import CHECK_EVERY_NS, CONSUMER, MONITOR, PRODUCER, PlainRing  # noqa: F401 (re-exported)
from shm.ring_errors import RingBusyError, RingDamagedError, RingError  # noqa: F401 (re-exported)
from shm.ring_errors import RingLayoutError, RingOtherLayoutError, RingRefusedError  # noqa: F401 (re-exported)

PREFIX = names.PREFIX


class Ring(PlainRing):
    """One SPSC ring, opened in one role: producer, consumer or monitor (attach, role and checks: ``PlainRing``)."""

    def __init__(self, name: str, role: str = MONITOR, dtype: np.dtype | None = None, capacity: int | None = None,
                 numba: bool = True):
        """Attach to ring ``name``; create it first if ``capacity`` is given and it does not exist.

        ``dtype`` must match the ring's record layout (None: take the ring's).
        An existing ring keeps the capacity it was created with.
        ``numba=False``: a producer pushes with plain stores, a consumer or
        monitor pops, peeks and commits with plain loads and ``pread``
        (shm/plain.py) where the CPU allows (x86-64), so the process never
        imports Numba (the writer opens its rings this way; a feed, which must
        not import NumPy either, uses ``PlainRing``).
        """
        self._numba = numba
        super().__init__(name, role, None if dtype is None else DtypeForm(np.dtype(dtype)), capacity)
        self._position = int(self._header[H.W_TAIL])  # consumer's read cursor
        self._ops = self._kernels or plain  # push, pop, commit ...

    def _read_form(self, stored: int, description: str) -> DtypeForm:
        return stored_form(stored, description)

    def _header_words(self) -> np.ndarray:
        return np.frombuffer(self._memory, dtype=np.int64, count=H.HEADER_BYTES // 8)

    def _attached(self) -> None:
        self.dtype = self.form.dtype
        self._data = np.frombuffer(self._memory, dtype=self.dtype, offset=H.HEADER_BYTES)
        self._kernels = None if (not self._numba and plain.AVAILABLE) else _kernels()
        if self._kernels is not None:
            self._kernels.warm_up(self.dtype)
        elif self.role == PRODUCER:  # plain.push copies into the mapping itself
            self._data = self._memory
            self._words = memoryview(self._memory)[: H.HEADER_BYTES].cast("q")  # record_pusher's header
            super()._attached()

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
    def metrics(self) -> np.ndarray:
        """The producer's 64 counters (feed statistics); names: ``metric_names``."""
        return self._header[H.W_METRICS : H.W_METRICS + H.METRIC_SLOTS]

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
    def _release_memory(self) -> None:
        self._data = None
        super()._release_memory()


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
