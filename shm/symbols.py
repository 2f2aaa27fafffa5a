"""The symbol directory: ``exchange:symbol`` <-> small integer id, shared by all processes.

Ticks carry ``symbol_id`` instead of strings. Ids are stable for the life of
the segment ``tickagg.<group>.symbols``, and never reused; id 0 means "none".

::

  0        8        16       24       32                            64
  +--------+--------+--------+--------+-----------------------------+
  | magic  |version |capacity| count  | reserved                    |  header
  +--------+--------+--------+--------+-----------------------------+
  | len (1 byte) | "binance:BTCUSDT" (UTF-8, up to 63 bytes)         |  entry 1
  | ...                                                             |  entry n

Lookups are lock-free: entries below ``count`` never change, and ``count`` is
published with a release store after the entry is written (read with acquire:
plain loads and stores on x86-64, shm/plain.py; Numba's atomics elsewhere), so
a feed registers symbols without importing Numba.
Inserts are rare and serialised between processes by ``flock`` on the segment;
the kernel drops that lock if the inserting process dies. An insert waits for
that lock at most ``LOCK_WAIT_S`` (an insert holds it for microseconds), then
fails with ``SymbolDirectoryBusy`` rather than block (SIGTERM included) for as
long as someone holds it. Only a file of the running user is opened
(shm/segment.py), so another user cannot hold it.
"""
from __future__ import annotations

import fcntl
import os
import time

from shm import plain, segment
from shm.symbols_plain import ENTRY_BYTES, MAGIC, VERSION, W_CAPACITY, W_COUNT, W_MAGIC, W_VERSION, directory_name

DEFAULT_CAPACITY = 65536
LOCK_WAIT_S = 2.0  # longest wait for the insert lock


class SymbolDirectoryFull(segment.SegmentError):
    """No room for another symbol."""


class SymbolDirectoryBusy(segment.SegmentError):
    """The insert lock stayed taken for ``LOCK_WAIT_S``."""


def _ordered():
    """Acquire loads and release stores: plain ones where the CPU orders them (x86-64), else Numba's."""
    if plain.AVAILABLE:
        return plain
    from shm import kernels  # imports Numba

    return kernels


def _published(header) -> int:
    return int(_ordered().load_word(header, W_COUNT))


def _publish(header, count: int) -> None:
    _ordered().store_word(header, W_COUNT, count)


class SymbolDirectory:
    """Create or attach the symbol directory of process group ``group``."""

    def __init__(self, group: str, capacity: int = DEFAULT_CAPACITY):
        self.name = directory_name(group)
        if not segment.exists(self.name):
            segment.create(self.name, ENTRY_BYTES * (capacity + 1), _initialiser(capacity))
        self._fd, self._memory = segment.open_segment(self.name)
        self._header = _header_words(self._memory)
        if self._header[W_MAGIC] != MAGIC or self._header[W_VERSION] != VERSION:
            self.close()
            raise segment.SegmentError(f"{self.name} is not a tickagg symbol directory of version {VERSION}")
        self.capacity = int(self._header[W_CAPACITY])
        self._ids: dict[str, int] = {}
        self._keys: list[str] = [""]  # index = id; entry 0 is unused
        self._refresh()

    def id_of(self, exchange: str, symbol: str) -> int:
        """The id of ``exchange:symbol``, registering it if it is new."""
        key = f"{exchange}:{symbol}"
        found = self._ids.get(key)
        if found is not None:
            return found
        self._refresh()
        found = self._ids.get(key)
        return found if found is not None else self._insert(key)

    def lookup(self, exchange: str, symbol: str) -> int | None:
        """The id of ``exchange:symbol``, or None; never registers."""
        key = f"{exchange}:{symbol}"
        if key not in self._ids:
            self._refresh()
        return self._ids.get(key)

    def name_of(self, symbol_id: int) -> tuple[str, str]:
        """``(exchange, symbol)`` of an id; KeyError if the id is not registered."""
        if symbol_id >= len(self._keys):
            self._refresh()
        if not 0 < symbol_id < len(self._keys):
            raise KeyError(f"symbol id {symbol_id} is not in {self.name}")
        exchange, symbol = self._keys[symbol_id].split(":", 1)
        return exchange, symbol

    def items(self) -> list[tuple[int, str]]:
        self._refresh()
        return list(enumerate(self._keys))[1:]

    def _refresh(self) -> None:
        """Read entries published since the last look (lock-free)."""
        count = int(_published(self._header))
        for symbol_id in range(len(self._keys), count + 1):
            entry = self._memory[symbol_id * ENTRY_BYTES : (symbol_id + 1) * ENTRY_BYTES]
            key = bytes(entry[1 : 1 + entry[0]]).decode("utf-8")
            self._keys.append(key)
            self._ids[key] = symbol_id

    def _insert(self, key: str) -> int:
        data = key.encode("utf-8")
        if not 0 < len(data) < ENTRY_BYTES:
            raise ValueError(f"symbol key {key!r} must be 1 to {ENTRY_BYTES - 1} bytes of UTF-8")
        self._lock()
        try:
            self._refresh()  # another process may have added it meanwhile
            if key in self._ids:
                return self._ids[key]
            symbol_id = len(self._keys)
            if symbol_id > self.capacity:
                raise SymbolDirectoryFull(f"{self.name} holds {self.capacity} symbols and is full")
            offset = symbol_id * ENTRY_BYTES
            self._memory[offset : offset + 1 + len(data)] = bytes([len(data)]) + data
            _publish(self._header, symbol_id)
            self._keys.append(key)
            self._ids[key] = symbol_id
            return symbol_id
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _lock(self) -> None:
        """Take the insert lock, polling (never blocking in the kernel) for up to ``LOCK_WAIT_S``."""
        wait_s = LOCK_WAIT_S
        deadline, pause = time.monotonic() + wait_s, 0.0005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SymbolDirectoryBusy(
                        f"{segment.path_of(self.name)}: its insert lock was held for over {wait_s:g} s; a process of "
                        "this group may be stuck inserting (`fuser -v` on the file shows who holds it)") from None
                time.sleep(pause)
                pause = min(0.05, pause * 2)

    def close(self) -> None:
        if isinstance(self._header, memoryview):
            self._header.release()
        self._header = None
        try:
            self._memory.close()
        except BufferError:
            pass
        os.close(self._fd)


def _header_words(memory):
    """The directory's header as int64 words: a ``memoryview`` where plain loads and stores order (x86-64: a feed
    registers symbols without NumPy), else the array Numba's atomics take."""
    if plain.AVAILABLE:
        return memoryview(memory)[: ENTRY_BYTES].cast("q")
    import numpy as np

    return np.frombuffer(memory, dtype=np.int64, count=ENTRY_BYTES // 8)


def _initialiser(capacity: int):
    def initialise(memory) -> None:
        with memoryview(memory) as view, view[:ENTRY_BYTES] as head, head.cast("q") as header:
            header[W_VERSION] = VERSION
            header[W_CAPACITY] = capacity
            header[W_MAGIC] = MAGIC

    return initialise
