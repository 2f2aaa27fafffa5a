"""A ring attached without NumPy: the part of a ring every role needs, and a feed's whole producer.

A feed process must never import NumPy (issue 12), so its rings are
``PlainRing(name, PRODUCER, TICK_FORM, capacity)`` (record forms:
shm/record_forms.py). Attaching is the NumPy ``Ring``'s own (``Ring``, in
shm/ring.py, is a ``PlainRing`` with NumPy arrays and the Numba kernels on top):
the same layout checks and replacement of a damaged or foreign ring
(shm/ring_attach.py), the same role claim (an OFD lock and the pid word), the
same damage checks after attach (shm/ring_watch.py). The header is read and
written as int64 words through ``memoryview(mapping).cast("q")``: an element
store is one aligned 8-byte ``mov``, as numpy's (the memory ordering argument
of shm/plain.py holds unchanged). Records are pushed by ``record_pusher`` and
``bytes_pusher`` (shm/plain.py).
"""
from __future__ import annotations

import ctypes
import os
import time

from shm import header as H
from shm import plain, ring_attach, segment
from shm.ring_errors import RingBusyError, RingDamagedError, RingError
from shm.ring_watch import RingWatch

PRODUCER, CONSUMER, MONITOR = "producer", "consumer", "monitor"
CHECK_EVERY_NS = 250_000_000  # push and pop fstat the ring's file this often (time.time_ns(): one clock read a batch)


class PlainRing:
    """One SPSC ring, opened in one role; without NumPy it can only push (a producer's ``record_pusher``)."""

    def __init__(self, name: str, role: str = MONITOR, form=None, capacity: int | None = None):
        """Attach to ring ``name``; create it first if ``capacity`` is given and it does not exist.

        ``form``: the ring's record layout (shm/record_forms.py ``RecordForm``; ``Ring`` passes a dtype's);
        a monitor may leave it None (the ring's own: ``_read_form``). An existing ring keeps its capacity.
        """
        if role not in (PRODUCER, CONSUMER, MONITOR):
            raise ValueError(f"role must be producer, consumer or monitor, not {role!r}")
        if capacity is not None and form is None:
            raise ValueError("creating a ring needs its record dtype")
        self.name, self.role = name, role
        self._header = self._words = None  # the header as int64 words; _words: the pushers' memoryview
        self._fd, self._memory, self.form = ring_attach.attach(
            name, form, capacity, may_replace=role == PRODUCER and capacity is not None, read_form=self._read_form)
        try:
            self._header = self._header_words()
            self.capacity = int(self._header[H.W_CAPACITY])
            self._claim(role)
            self._attached()
        except BaseException:
            self._release_memory()
            raise
        self._watch = RingWatch(self)
        self._checked_ns = time.time_ns()  # push and pop check again once the clock leaves [checked, next)
        self._next_check_ns = self._checked_ns + CHECK_EVERY_NS

    # -- what a subclass with NumPy changes -----------------------------------
    def _read_form(self, stored: int, description: str):
        raise ValueError("a ring of unknown records needs NumPy to read (shm.ring.Ring)")

    def _header_words(self):
        """The header as int64 words, indexable by the W_* constants of shm/header.py."""
        self._words = memoryview(self._memory)[: H.HEADER_BYTES].cast("q")
        return self._words

    def _attached(self) -> None:
        """After the claim: get ready to push (the pushers' slot count, validated at attach)."""
        self._slots = (len(self._memory) - H.HEADER_BYTES) // self.record_bytes

    @property
    def record_bytes(self) -> int:
        return self.form.itemsize

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

    def heartbeat(self) -> None:
        """Mark this role alive without moving data (idle producers and consumers)."""
        word = {PRODUCER: H.W_PRODUCER_HB, CONSUMER: H.W_CONSUMER_HB}.get(self.role)
        if word is not None:
            self._header[word] = time.time_ns()

    # -- producer -------------------------------------------------------------
    def record_pusher(self, record):
        """A function ``push(fields) -> 1 or 0`` that packs one record with ``record`` (a ``struct.Struct`` of the
        ring's record size) straight into its slot: ``push_batch`` of one record without numpy
        (shm/plain.py ``record_pusher``). Producers opened without Numba only (``pushes_records``)."""
        if self._words is None or self.role != PRODUCER:
            raise RingError(f"record_pusher needs the producer role on {self.name}, opened with numba=False")
        if record.size != self.record_bytes:
            raise TypeError(f"{self.name} carries {self.record_bytes}-byte records, got a {record.size}-byte struct")
        return plain.record_pusher(self._memory, self._words, self._slots, record, self)

    def bytes_pusher(self):
        """A function ``push(data, count) -> accepted``: ``push_batch`` of ``count`` records given as bytes (a
        staging buffer's memoryview), without numpy (shm/plain.py ``bytes_pusher``); producers without Numba."""
        if self._words is None or self.role != PRODUCER:
            raise RingError(f"bytes_pusher needs the producer role on {self.name}, opened with numba=False")
        return plain.bytes_pusher(self._memory, self._words, self._slots, self.record_bytes, self)

    @property
    def pushes_records(self) -> bool:
        """Whether ``record_pusher`` works here: a producer opened without Numba (on x86-64)."""
        return self._words is not None and self.role == PRODUCER and plain.AVAILABLE

    # -- state ----------------------------------------------------------------
    @property
    def head(self) -> int:
        return int(self._header[H.W_HEAD])

    @property
    def tail(self) -> int:
        return int(self._header[H.W_TAIL])

    @property
    def consumer_asleep(self) -> bool:
        """Whether the consumer waits on this ring's doorbell now (shm/doorbell.py)."""
        return bool(self._header[H.W_ASLEEP])

    @property
    def bell_address(self) -> int:
        """Where this process maps the ring's doorbell word (shm/doorbell.py); 0 once closed."""
        if self._memory is None:
            return 0
        return ctypes.addressof(ctypes.c_char.from_buffer(self._memory)) + H.W_BELL * 8

    @property
    def created_ns(self) -> int:
        return int(self._header[H.W_CREATED_NS])

    @property
    def dropped(self) -> int:
        return int(self._header[H.W_DROPPED])

    @property
    def metrics(self):
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
        self._header = None
        if self._words is not None:
            self._words.release()
            self._words = None
        ring_attach.release(self._fd, self._memory)  # and with it the role lock
        self._memory = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, role={self.role!r}, capacity={self.capacity})"


def open_producer(name: str, form, capacity: int) -> PlainRing:
    """Ring ``name``'s producer, pushing with plain stores: a ``PlainRing`` (no NumPy, no Numba) where the CPU
    orders them (x86-64, shm/plain.py), else a NumPy ``Ring`` with Numba's ordered stores."""
    if plain.AVAILABLE:
        return PlainRing(name, PRODUCER, form, capacity)
    from shm.layouts import dtype_from_description
    from shm.ring import Ring

    return Ring(name, PRODUCER, dtype_from_description(form.description), capacity, numba=False)
