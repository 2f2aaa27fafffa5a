"""The symbol directory's layout, and a reader without Numba (for the writer, which must stay small).

The layout and its publication protocol are described in shm/symbols.py, which
registers symbols (with Numba's acquire/release atomics); ``PlainDirectory``
only reads names. ``count`` is read with a plain load: on x86-64 every load
has acquire semantics (see shm/plain.py), and elsewhere an entry whose length
byte is still 0 is taken as not yet published, so the reader stops there.
"""
from __future__ import annotations

import os

from shm import names, segment

MAGIC = int.from_bytes(b"TICKSYM\x01", "little")
VERSION = 1
ENTRY_BYTES = 64
W_MAGIC, W_VERSION, W_CAPACITY, W_COUNT = range(4)


def directory_name(group: str) -> str:
    return f"{names.PREFIX}{names.check_group(group)}.symbols"


class PlainDirectory:
    """Read ``exchange:symbol`` names of group ``group``'s directory by id; never registers."""

    def __init__(self, group: str):
        self.name = directory_name(group)
        self._fd, self._memory = segment.open_segment(self.name)
        info = os.fstat(self._fd)
        self.identity = (info.st_dev, info.st_ino)  # a directory recreated (rings --remove, new run) is another file
        magic, version, capacity = (int.from_bytes(self._memory[word * 8 : word * 8 + 8], "little", signed=True)
                                    for word in (W_MAGIC, W_VERSION, W_CAPACITY))
        if magic != MAGIC or version != VERSION:
            self.close()
            raise segment.SegmentError(f"{self.name} is not a tickagg symbol directory of version {VERSION}")
        self.capacity = min(capacity, len(self._memory) // ENTRY_BYTES - 1)

    def count(self) -> int:
        """Ids published so far (1 .. count)."""
        count = int.from_bytes(self._memory[W_COUNT * 8 : W_COUNT * 8 + 8], "little", signed=True)
        return max(0, min(count, self.capacity))

    def keys(self, first: int, last: int) -> list[tuple[str, str]]:
        """``(exchange, symbol)`` of ids ``first`` .. ``last`` inclusive, stopping at an entry not yet published."""
        found = []
        for symbol_id in range(max(1, first), min(last, self.capacity) + 1):
            entry = self._memory[symbol_id * ENTRY_BYTES : (symbol_id + 1) * ENTRY_BYTES]
            size = entry[0]
            if not 0 < size < ENTRY_BYTES:
                break
            key = bytes(entry[1 : 1 + size]).decode("utf-8", "replace")
            exchange, _, symbol = key.partition(":")
            found.append((exchange, symbol))
        return found

    def same_file(self) -> bool:
        """Whether the group's directory is still the file this reader has open."""
        try:
            info = os.lstat(segment.path_of(self.name))
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.identity

    def close(self) -> None:
        try:
            self._memory.close()
        except BufferError:
            pass
        os.close(self._fd)
