"""A single-producer single-consumer ring of fixed-size records in shared memory.

One process pushes, one process pops; neither ever waits for the other.
``push_batch`` drops (and counts) what does not fit; ``pop_batch`` copies
records out and ``commit`` publishes the new tail once they are handled, so a
consumer killed between the two sees the batch again on restart — never skips
it. The ring lives in /dev/shm under ``tickagg.<group>.<ring>`` until removed
with ``remove`` (``tickagg rings --remove GROUP``). Header layout:
shm/header.py; kernels and memory ordering: shm/kernels.py. A ring opened
with ``numba=False`` pushes or reads without Numba (shm/plain.py).
A producer that finds a ring of another record layout replaces it only if no
live process holds it and nothing in it is unread (``_remove_if_abandoned``);
which layouts count as the same bytes: shm/layouts.py.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np

from shm import header as H
from shm import names, plain, ring_check, segment
from shm.histogram_segment import SEGMENTS
from shm.ring_watch import RingWatch
from shm.layouts import current_layout, describe, dtype_from_description, fingerprint, same_bytes

log = logging.getLogger(__name__)

PRODUCER, CONSUMER, MONITOR = "producer", "consumer", "monitor"
PREFIX = names.PREFIX
CHECK_EVERY_NS = 250_000_000  # push and pop fstat the ring's file this often (time.time_ns(): one clock read a batch)


class RingError(segment.SegmentError):
    """A ring that cannot be used as asked."""


class RingLayoutError(RingError):
    """The ring in shared memory is not laid out the way the caller expects."""


class RingOtherLayoutError(RingLayoutError):
    """The ring is a valid tickagg ring of another record layout (e.g. written by another release)."""


class RingRefusedError(RingError, segment.SegmentRefusedError):
    """The ring's file is not one tickagg will use: a symbolic link, another user's, open to others (shm/segment.py)."""


class RingDamagedError(RingLayoutError):
    """The file is not a sound tickagg ring: foreign, truncated, or with impossible header words."""


class RingBusyError(RingError):
    """Another live process already holds the producer or consumer role."""


def ring_name(group: str, ring: str) -> str:
    """Shared-memory name of ring ``ring`` in process group ``group`` (both checked: shm/names.py).

    ``ring=""`` gives the group's name prefix, for older callers; ``names.group_segments`` matches exactly.
    """
    names.check_group(group)
    if ring:
        names.check_ring(ring)
    return f"{PREFIX}{group}.{ring}"


def _initialiser(dtype: np.dtype, capacity: int):
    def initialise(memory) -> None:
        words = np.frombuffer(memory, dtype=np.int64, count=H.HEADER_BYTES // 8)
        words[H.W_VERSION] = H.VERSION
        words[H.W_RECORD_SIZE] = dtype.itemsize
        words[H.W_CAPACITY] = capacity
        words[H.W_FINGERPRINT] = fingerprint(dtype)
        words[H.W_CREATED_NS] = time.time_ns()
        H.write_text(memory, H.DTYPE_TEXT, describe(dtype))
        words[H.W_MAGIC] = H.MAGIC  # last: a header with magic is complete
        del words

    return initialise


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
        self.dtype = self._open_checked(dtype, capacity, may_replace=role == PRODUCER and capacity is not None)
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

    # -- attach ---------------------------------------------------------------
    def _open_checked(self, dtype: np.dtype | None, capacity: int | None, may_replace: bool) -> np.dtype:
        """Map the ring (creating it if ``capacity`` is given and it is missing) and check its layout.

        ``may_replace``: a ring that no live process holds is unlinked and created anew if it is damaged or
        foreign (shm/ring_check.py), or of another layout (e.g. left by another tickagg release) with nothing
        unread; otherwise the error says what is wrong and who holds it.
        """
        for attempt in (1, 2):
            if capacity is not None and not segment.exists(self.name):
                _check_new(np.dtype(dtype), capacity)
                segment.create(self.name, H.HEADER_BYTES + capacity * np.dtype(dtype).itemsize,
                               _initialiser(np.dtype(dtype), capacity))
            try:
                self._fd, self._memory = segment.open_segment(self.name)
            except segment.SegmentMissingError as exc:
                raise RingError(f"{exc}; is its producer running in this group?") from None
            except segment.SegmentRefusedError as exc:  # another user's file, a link ...
                raise RingRefusedError(str(exc)) from None
            except (ValueError, OSError) as exc:  # an empty file cannot be mapped
                damaged = RingDamagedError(f"{segment.path_of(self.name)} cannot be mapped ({exc}): truncated?")
                if not may_replace or attempt == 2:
                    raise damaged from None
                _replace_unmappable(self.name, damaged)
                continue
            self._header = None
            try:
                return self._check_layout(dtype)
            except (RingOtherLayoutError, RingDamagedError) as exc:
                if not may_replace or attempt == 2:
                    self._release_memory()
                    raise
                try:
                    self._remove_if_abandoned(exc)  # raises, saying why, if the ring stays
                finally:
                    self._release_memory()
            except BaseException:
                self._release_memory()
                raise
        raise AssertionError("unreachable")

    def _check_layout(self, dtype: np.dtype | None) -> np.dtype:
        """The ring's record dtype, once every layout word agrees with the others and with the file's real size."""
        path = segment.path_of(self.name)
        size = os.fstat(self._fd).st_size
        problem = ring_check.file_problem(size) or (None if len(self._memory) == size else "changed size while attaching")
        if problem:
            raise RingDamagedError(f"{path} {problem}")
        header = self._header = np.frombuffer(self._memory, dtype=np.int64, count=H.HEADER_BYTES // 8)
        if header[H.W_MAGIC] != H.MAGIC:
            raise RingDamagedError(f"{path} {ring_check.header_problem(header, size)}")
        if header[H.W_VERSION] != H.VERSION:
            raise RingOtherLayoutError(f"{self.name} has layout version {header[H.W_VERSION]}, this tickagg reads version {H.VERSION}")
        stored = H.read_text(self._memory, H.DTYPE_TEXT)
        if dtype is None:  # a monitor: the ring's own layout, under its current names if it is an alias
            try:
                dtype = current_layout(int(header[H.W_FINGERPRINT])) or dtype_from_description(stored)
            except (ValueError, TypeError, IndexError) as exc:
                raise RingDamagedError(f"{path} has an unreadable record description {stored[:60]!r} ({exc})") from None
        else:
            dtype = np.dtype(dtype)
            if not same_bytes(int(header[H.W_FINGERPRINT]), dtype):
                raise RingOtherLayoutError(f"{self.name} holds other records: {_difference(stored, describe(dtype))}")
        problem = ring_check.header_problem(header, size, dtype.itemsize)
        if problem:
            raise RingDamagedError(f"{path} {problem}")
        return dtype

    def _remove_if_abandoned(self, exc: RingLayoutError) -> None:
        """Unlink this ring, damaged or of another layout, if no live producer or consumer holds it and (for
        another layout) nothing in it is unread; both role locks are held meanwhile, so no one can claim it.
        Else raise ``exc`` saying why it stays."""
        damaged = isinstance(exc, RingDamagedError)
        if not damaged and self._header[H.W_VERSION] != H.VERSION:  # head and tail may be elsewhere: leave it to the user
            raise RingOtherLayoutError(f"{exc}; remove it with `tickagg rings --remove GROUP` once drained")
        locked = [byte for byte in (H.PRODUCER_LOCK_BYTE, H.CONSUMER_LOCK_BYTE) if segment.try_lock(self._fd, byte)]
        try:
            if len(locked) < 2:
                if damaged:
                    raise RingDamagedError(f"{exc}; {_holders(self._fd, self._header)} still uses it: stop it, or "
                                           "remove the ring with `tickagg rings --remove GROUP`")
                raise RingOtherLayoutError(f"{exc}; a live process still uses it (another tickagg release?)")
            unread = 0 if damaged else int(self._header[H.W_HEAD]) - int(self._header[H.W_TAIL])
            if unread > 0:
                raise RingOtherLayoutError(
                    f"{exc}; it still holds {unread} records no consumer has read: drain them with the tickagg release "
                    "that wrote them, or drop them with `tickagg rings --remove GROUP`")
            if _unlink_if_same(self.name, self._fd):
                log.warning("%s: replaced a %s, which no process used (%s)", self.name,
                            "damaged or foreign ring" if damaged else "drained ring of another record layout", exc)
        finally:  # explicitly: an exception's traceback may keep the mapping (and so the locks) alive
            for byte in locked:
                segment.unlock(self._fd, byte)

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
        return self._ops.push(self._data, self._header, records, now)

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
        try:
            self._memory.close()
        except BufferError:
            pass  # a caller still holds a view; the mapping goes with the process
        os.close(self._fd)  # releases the role lock
        self._memory = None

    def __enter__(self) -> "Ring":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ring({self.name!r}, role={self.role!r}, capacity={self.capacity})"


def _holders(fd: int, header: np.ndarray | None) -> str:
    """Who holds a ring's role locks, for error messages: "a live producer (pid 12) and consumer (pid 34)"."""
    roles = []
    for role, byte, word in (("producer", H.PRODUCER_LOCK_BYTE, H.W_PRODUCER_PID),
                             ("consumer", H.CONSUMER_LOCK_BYTE, H.W_CONSUMER_PID)):
        if segment.is_locked(fd, byte):
            roles.append(role + ("" if header is None else f" (pid {int(header[word])})"))
    return "a live " + (" and ".join(roles) or "process")


def _unlink_if_same(name: str, fd: int) -> bool:
    """Unlink ``name`` if it is still the file open as ``fd`` (someone may have replaced it already)."""
    path = segment.path_of(name)
    try:
        named, ours = os.lstat(path), os.fstat(fd)  # lstat: never follow a link
        if (named.st_dev, named.st_ino) != (ours.st_dev, ours.st_ino):
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _replace_unmappable(name: str, exc: RingDamagedError) -> None:
    """Unlink ring file ``name`` that cannot even be mapped (empty) if no live process holds it; else raise ``exc``."""
    try:
        fd = os.open(segment.path_of(name), os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        locked = [byte for byte in (H.PRODUCER_LOCK_BYTE, H.CONSUMER_LOCK_BYTE) if segment.try_lock(fd, byte)]
        if len(locked) < 2:
            raise RingDamagedError(f"{exc}; {_holders(fd, None)} still uses it") from None
        if _unlink_if_same(name, fd):
            log.warning("%s: replaced a damaged ring file, which no process used (%s)", name, exc)
    finally:
        os.close(fd)  # drops our locks


def _kernels():
    from shm import kernels  # imports Numba: only for rings that use the kernels

    return kernels


def _check_new(dtype: np.dtype, capacity: int) -> None:
    if capacity < 2 or capacity & (capacity - 1):
        raise ValueError(f"ring capacity must be a power of two >= 2, got {capacity}")
    if dtype.itemsize % 8:
        raise ValueError(f"ring records must be a multiple of 8 bytes, {describe(dtype)} is not")
    if len(describe(dtype).encode()) >= H.DTYPE_TEXT.stop - H.DTYPE_TEXT.start:
        raise ValueError("record dtype has too many fields to describe in the ring header")


def _difference(stored: str, wanted: str) -> str:
    have, want = stored.split(" "), wanted.split(" ")
    parts = []
    if have[0] != want[0]:
        parts.append(f"record size {have[0]} in the ring, {want[0]} asked")
    missing = [f for f in want[1:] if f not in have[1:]]
    extra = [f for f in have[1:] if f not in want[1:]]
    if missing:
        parts.append("asked for fields not in the ring: " + ", ".join(missing))
    if extra:
        parts.append("ring has fields not asked for: " + ", ".join(extra))
    return "; ".join(parts) or f"ring {stored!r} vs asked {wanted!r}"


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
