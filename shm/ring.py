"""A single-producer single-consumer ring of fixed-size records in shared memory.

One process pushes, one process pops; neither ever waits for the other.
``push_batch`` drops (and counts) what does not fit; ``pop_batch`` copies
records out and ``commit`` publishes the new tail once they are handled, so a
consumer killed between the two sees the batch again on restart — never skips
it. The ring lives in /dev/shm under ``tickagg.<group>.<ring>`` until removed
with ``remove`` (``tickagg rings --remove GROUP``). Header layout:
shm/header.py; kernels and memory ordering: shm/kernels.py. A consumer or
monitor opened with ``numba=False`` reads without Numba (shm/plain.py).
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
from shm import names, plain, segment
from shm.layouts import current_layout, describe, dtype_from_description, fingerprint, same_bytes

log = logging.getLogger(__name__)

PRODUCER, CONSUMER, MONITOR = "producer", "consumer", "monitor"
PREFIX = names.PREFIX


class RingError(segment.SegmentError):
    """A ring that cannot be used as asked."""


class RingLayoutError(RingError):
    """The ring in shared memory is not laid out the way the caller expects."""


class RingOtherLayoutError(RingLayoutError):
    """The ring is a valid tickagg ring of another record layout (e.g. written by another release)."""


class RingRefusedError(RingError, segment.SegmentRefusedError):
    """The ring's file is not one tickagg will use: a symbolic link, another user's, open to others (shm/segment.py)."""


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
        ``numba=False``: a consumer or monitor pops, peeks and commits with
        plain loads and ``pread`` (shm/plain.py) where the CPU allows, so the
        process never imports Numba; producers always use the kernels.
        """
        if role not in (PRODUCER, CONSUMER, MONITOR):
            raise ValueError(f"role must be producer, consumer or monitor, not {role!r}")
        if capacity is not None and dtype is None:
            raise ValueError("creating a ring needs its record dtype")
        self.name, self.role = name, role
        self.dtype = self._open_checked(dtype, capacity, may_replace=role == PRODUCER and capacity is not None)
        try:
            self.capacity = int(self._header[H.W_CAPACITY])
            self._data = np.frombuffer(self._memory, dtype=self.dtype, offset=H.HEADER_BYTES)
            self._claim(role)
            self._kernels = None if (not numba and role != PRODUCER and plain.AVAILABLE) else _kernels()
            if self._kernels is not None:
                self._kernels.warm_up(self.dtype)
        except BaseException:
            self._release_memory()
            raise
        self._position = int(self._header[H.W_TAIL])  # consumer's read cursor

    # -- attach ---------------------------------------------------------------
    def _open_checked(self, dtype: np.dtype | None, capacity: int | None, may_replace: bool) -> np.dtype:
        """Map the ring (creating it if ``capacity`` is given and it is missing) and check its layout.

        ``may_replace``: a ring of another layout (e.g. left by another tickagg release) that no live process
        holds and that has nothing unread is unlinked and created anew; one that does is an error that says so.
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
            try:
                self._header = np.frombuffer(self._memory, dtype=np.int64, count=H.HEADER_BYTES // 8)
                return self._check_layout(dtype)
            except RingOtherLayoutError as exc:
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
        header = self._header
        if len(self._memory) < H.HEADER_BYTES or header[H.W_MAGIC] != H.MAGIC:
            raise RingLayoutError(f"{self.name} is not a tickagg ring (bad magic) or is not initialised")
        if header[H.W_VERSION] != H.VERSION:
            raise RingOtherLayoutError(f"{self.name} has layout version {header[H.W_VERSION]}, this tickagg reads version {H.VERSION}")
        stored = H.read_text(self._memory, H.DTYPE_TEXT)
        if dtype is None:  # a monitor: the ring's own layout, under its current names if it is an alias
            return current_layout(int(header[H.W_FINGERPRINT])) or dtype_from_description(stored)
        dtype = np.dtype(dtype)
        if not same_bytes(int(header[H.W_FINGERPRINT]), dtype):
            raise RingOtherLayoutError(f"{self.name} holds other records: {_difference(stored, describe(dtype))}")
        expected = H.HEADER_BYTES + int(header[H.W_CAPACITY]) * dtype.itemsize
        if len(self._memory) != expected:
            raise RingLayoutError(f"{self.name} is {len(self._memory)} bytes, its header implies {expected}")
        return dtype

    def _remove_if_abandoned(self, exc: RingOtherLayoutError) -> None:
        """Unlink this ring of another layout if no live producer or consumer holds it and nothing in it is unread
        (both role locks are held meanwhile, so no one can claim it); else raise ``exc`` saying why it stays."""
        header = self._header
        if header[H.W_VERSION] != H.VERSION:  # head and tail may be elsewhere: leave it to the user
            raise RingOtherLayoutError(f"{exc}; remove it with `tickagg rings --remove GROUP` once drained")
        locked = [byte for byte in (H.PRODUCER_LOCK_BYTE, H.CONSUMER_LOCK_BYTE) if segment.try_lock(self._fd, byte)]
        try:
            if len(locked) < 2:
                raise RingOtherLayoutError(f"{exc}; a live process still uses it (another tickagg release?)")
            unread = int(header[H.W_HEAD]) - int(header[H.W_TAIL])
            if unread > 0:
                raise RingOtherLayoutError(
                    f"{exc}; it still holds {unread} records no consumer has read: drain them with the tickagg release "
                    "that wrote them, or drop them with `tickagg rings --remove GROUP`")
            path = segment.path_of(self.name)
            try:
                named, ours = os.lstat(path), os.fstat(self._fd)
                if (named.st_dev, named.st_ino) != (ours.st_dev, ours.st_ino):
                    return  # someone replaced it already: open theirs
                os.unlink(path)
            except FileNotFoundError:
                return
            log.warning("%s: replaced a drained ring of another record layout, which no process used (%s)", self.name, exc)
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
        return self._kernels.push(self._data, self._header, records, time.time_ns())

    # -- consumer -------------------------------------------------------------
    def pop_batch(self, out: np.ndarray, spin_us: float = 0.0) -> int:
        """Copy up to ``len(out)`` records into ``out``; return how many. Call ``commit`` once handled.

        ``spin_us`` > 0: while the ring is empty, busy-poll for up to that long
        inside the kernel (lowest latency, burns the core) before returning 0;
        a ring opened with ``numba=False`` does not spin.
        """
        if self.role != CONSUMER:
            raise RingError(f"pop_batch needs the consumer role on {self.name}; monitors use peek_batch")
        if out.dtype is not self.dtype and out.dtype != self.dtype:
            raise TypeError(f"{self.name} carries {describe(self.dtype)}, got {describe(out.dtype)}")
        if spin_us > 0 and self._kernels is not None:
            count = self._kernels.pop_spin(self._data, self._header, self._position, out, int(spin_us * 1000))
        else:
            count = self._pop(out)
        self._position += count
        return count

    def _pop(self, out: np.ndarray) -> int:
        if self._kernels is None:
            return plain.pop(self._fd, self._header, self._position, out)
        return self._kernels.pop(self._data, self._header, self._position, out)

    def peek_batch(self, out: np.ndarray) -> int:
        """Monitor read: copy records from a private cursor without consuming them.

        Starts at the tail. A record is only safe from the producer while it
        is at or after the tail, so records the consumer released while they
        were being copied (and the producer may have overwritten) are skipped.
        """
        self._position = max(self._position, self.tail)
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
        (self._kernels or plain).commit(self._header, self._position, time.time_ns())

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
        return int((self._kernels or plain).head_of(self._header))

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
        header, now = self._header, time.time_ns()
        head, tail = self.head, self.tail
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
        if self.role == PRODUCER:
            self._header[H.W_PRODUCER_PID] = 0
        elif self.role == CONSUMER:
            self._header[H.W_CONSUMER_PID] = 0
        self._release_memory()

    def _release_memory(self) -> None:
        self._header = self._data = None
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
    return [n for n in found if not n.endswith(".symbols")]


def remove(name: str) -> bool:
    """Delete a ring from shared memory. Attached processes keep their mapping."""
    return segment.remove(name)
