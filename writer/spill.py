"""The spill: batches the store could not take, on local disk, replayed in order when it answers.

Append-only segment files ``spill-NNNNNNNN.bin`` (a new one every 64 MiB) in
the writer's state directory. Each record is a 256-byte header then the batch's
ring records exactly as they were in the ring::

  0      4      8              16         24           32      40      48            56      60    64       80               256
  +------+------+--------------+----------+------------+-------+-------+-------------+-------+-----+--------+----------------+
  |magic |crc32 |payload bytes | batch_id |incarnation | start |  end  | dtype fprint| flags | pad | table  | ring name      |
  +------+------+--------------+----------+------------+-------+-------+-------------+-------+-----+--------+----------------+
  | payload: (end - start) ring records                                                                                   ...

crc32 covers the header (crc field zero) and the payload. A record cut short
by a crash at the end of the last segment is truncated away on open; a record
whose checksum fails is reported and skipped (it cannot be trusted).
A segment is deleted once every batch in it is in the store. Records of an
earlier release's layout are upgraded on replay (shm/layouts.py); a layout
this release does not know makes opening the spill fail, deleting nothing.

fsync policy (``fsync=``):
- ``always`` (default): fdatasync after every append, before the writer
  commits the ring tail — a spilled batch survives a power loss too;
- ``interval``: at most every ``fsync_interval`` s (and on close) — survives
  the writer or the store dying, loses at most that interval on power loss;
- ``never``: leave it to the kernel.
Spilling only happens while the store is down, in batches of up to
``spill_batch_rows``, so ``always`` costs a few fsyncs per second.

A full disk (ENOSPC, or EFBIG past RLIMIT_FSIZE) leaves no partial record:
the file is cut back and ``SpillFullError`` raised; the writer then keeps the
batch in its ring (tail not committed) and retries later.
"""
from __future__ import annotations

import dataclasses
import errno
import logging
import os
import signal
import threading
import time
import zlib

import numpy as np

from store.batch import Batch
from store.tables import BY_NAME
from shm.layouts import fingerprint, readable, upgrade

log = logging.getLogger(__name__)

MAGIC = 0x4C495053  # "SPIL"
HEADER = np.dtype(
    [
        ("magic", "<u4"),
        ("crc", "<u4"),
        ("payload_bytes", "<u8"),
        ("batch_id", "<u8"),
        ("incarnation", "<i8"),
        ("start", "<i8"),
        ("end", "<i8"),
        ("fingerprint", "<i8"),
        ("flags", "<u4"),
        ("pad", "<u4"),
        ("table", "S16"),
        ("ring", "S176"),
    ]
)
assert HEADER.itemsize == 256
IN_DOUBT = 1
FSYNC_POLICIES = ("always", "interval", "never")
SEGMENT_BYTES = 64 << 20


def _checksum_holds(record: bytes, header: np.void) -> bool:
    """Whether a whole record (header, then payload) matches its header's crc32 (taken with the crc field zero)."""
    check = bytearray(record[: HEADER.itemsize])
    check[4:8] = b"\0\0\0\0"
    return zlib.crc32(memoryview(record)[HEADER.itemsize :], zlib.crc32(check)) == header["crc"]


class SpillError(RuntimeError):
    """The spill cannot be written or read."""


class SpillFullError(SpillError):
    """No room left for the spill (disk full or file size limit)."""


class SpillLayoutError(SpillError):
    """The spill holds records of a layout this tickagg does not know (written by a newer release)."""


@dataclasses.dataclass
class Entry:
    """Where one spilled batch is."""

    segment: int
    offset: int
    size: int
    batch_id: int
    table: str
    rows: int
    ring: str = ""
    incarnation: int = 0
    end: int = 0


class Spill:
    def __init__(self, directory: str, fsync: str = "always", fsync_interval: float = 1.0,
                 segment_bytes: int = SEGMENT_BYTES, replayed: set[int] = frozenset()):
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"spill fsync policy must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        self.directory, self.fsync, self.fsync_interval, self.segment_bytes = directory, fsync, fsync_interval, segment_bytes
        os.makedirs(directory, exist_ok=True)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE: EFBIG, not death
        self.entries: list[Entry] = []  # not yet replayed, oldest first
        self.corrupt = 0
        self._segments_live: dict[int, int] = {}  # segment -> entries not yet replayed
        self._fd: int | None = None
        self._segment = 0
        self._size = 0
        self._dirty_since = 0.0
        self._scan(replayed)

    # -- open -----------------------------------------------------------------
    def _path(self, segment: int) -> str:
        return os.path.join(self.directory, f"spill-{segment:08d}.bin")

    def _scan(self, replayed: set[int]) -> None:
        segments = sorted(int(n[6:14]) for n in os.listdir(self.directory) if n.startswith("spill-") and n.endswith(".bin"))
        for segment in segments:
            path, offset = self._path(segment), 0
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                while offset < size:
                    f.seek(offset)
                    raw = f.read(HEADER.itemsize)
                    if len(raw) < HEADER.itemsize:
                        break
                    header = np.frombuffer(raw, HEADER)[0]
                    total = HEADER.itemsize + int(header["payload_bytes"])
                    if header["magic"] != MAGIC or offset + total > size:
                        break
                    batch_id = int(header["batch_id"])
                    if batch_id not in replayed:
                        self._check_layout(path, f, offset, total, header)
                        self._add(Entry(segment, offset, total, batch_id, header["table"].decode("utf-8", "replace"),
                                        int(header["end"] - header["start"]), header["ring"].decode("utf-8", "replace"),
                                        int(header["incarnation"]), int(header["end"])))
                    offset += total
            if offset < size:
                log.warning("spill %s: dropping a torn record at byte %d (%d bytes)", path, offset, size - offset)
                os.truncate(path, offset)
            self._segment = segment
        for segment in segments:
            if not self._segments_live.get(segment):
                os.unlink(self._path(segment))
                self._segments_live.pop(segment, None)

    @staticmethod
    def _check_layout(path: str, f, offset: int, total: int, header: np.void) -> None:
        """Refuse to open a spill this release cannot replay, rather than skip (lose) its batches: a record
        whose checksum holds and whose layout is unknown. (A record that fails its checksum is skipped on replay.)"""
        table = BY_NAME.get(header["table"].decode("utf-8", "replace"))
        if table is None or readable(table.dtype, int(header["fingerprint"])) is not None:
            return
        f.seek(offset)
        if not _checksum_holds(f.read(total), header):
            return
        raise SpillLayoutError(
            f"spill {path} holds {table.name} records of a layout this tickagg does not know (written by another "
            "release?); nothing was replayed or deleted: run the release that wrote it until its spill is empty")

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._segments_live[entry.segment] = self._segments_live.get(entry.segment, 0) + 1

    # -- append ---------------------------------------------------------------
    def append(self, batch: Batch) -> None:
        """Write ``batch`` (durably, per the fsync policy) or raise ``SpillFullError`` having written nothing."""
        payload = memoryview(np.ascontiguousarray(batch.records)).cast("B")
        header = np.zeros(1, HEADER)
        header[0] = (MAGIC, 0, len(payload), batch.id, batch.incarnation, batch.start, batch.end,
                     fingerprint(batch.table.dtype), IN_DOUBT if batch.in_doubt else 0, 0,
                     batch.table.name.encode(), _ring_name(batch))
        raw = bytearray(header.tobytes())
        crc = zlib.crc32(payload, zlib.crc32(raw))
        raw[4:8] = crc.to_bytes(4, "little")
        total = len(raw) + len(payload)
        if self._fd is None or (self._size and self._size + total > self.segment_bytes):
            self._open_segment()
        start = self._size
        try:
            written = os.writev(self._fd, [raw, payload])
            if written != total:
                raise OSError(errno.ENOSPC, f"short write ({written} of {total} bytes)")
            if self.fsync == "always":
                os.fdatasync(self._fd)
        except OSError as exc:
            self._cut(start)
            if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise SpillFullError(f"cannot spill {batch.rows} rows to {self._path(self._segment)}: no room left on the "
                                     f"disk or past the file size limit ({exc.strerror or exc})") from None
            raise SpillError(f"cannot spill {batch.rows} rows to {self._path(self._segment)}: {exc.strerror or exc}") from None
        self._size += total
        self._dirty_since = self._dirty_since or time.monotonic()
        self._add(Entry(self._segment, start, total, batch.id, batch.table.name, batch.rows, batch.ring_name,
                        batch.incarnation, batch.end))
        self.tick()

    def _open_segment(self) -> None:
        if self._fd is not None:
            self._sync()
            os.close(self._fd)
        self._segment += 1
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        self._segments_live.setdefault(self._segment, 0)

    def _cut(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            log.exception("spill: could not cut %s back to %d bytes", self._path(self._segment), size)

    def tick(self) -> None:
        """Apply the ``interval`` fsync policy (the writer calls this from its loop)."""
        if self.fsync == "interval" and self._dirty_since and time.monotonic() - self._dirty_since >= self.fsync_interval:
            self._sync()

    def _sync(self) -> None:
        if self._fd is not None and self._dirty_since and self.fsync != "never":
            os.fdatasync(self._fd)
        self._dirty_since = 0.0

    # -- replay ---------------------------------------------------------------
    @property
    def rows(self) -> int:
        return sum(e.rows for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def peek(self) -> Batch | None:
        """The oldest batch not yet replayed (None: the spill is empty). Corrupt records are skipped."""
        while self.entries:
            entry = self.entries[0]
            try:
                return self._load(entry)
            except SpillLayoutError:
                raise  # never skipped: _scan refuses such a spill before any replay
            except SpillError as exc:
                log.error("%s; skipping it", exc)
                self.corrupt += 1
                self.release(entry.batch_id)
        return None

    def _load(self, entry: Entry) -> Batch:
        with open(self._path(entry.segment), "rb") as f:
            f.seek(entry.offset)
            raw = f.read(entry.size)
        header = np.frombuffer(raw[: HEADER.itemsize], HEADER)[0]
        if len(raw) != entry.size or not _checksum_holds(raw, header):
            raise SpillError(f"spilled batch {entry.batch_id:016x} in {self._path(entry.segment)} at {entry.offset} has a bad checksum")
        table = BY_NAME.get(header["table"].decode("utf-8", "replace"))
        if table is None:
            raise SpillError(f"spilled batch {entry.batch_id:016x} names an unknown table")
        layout = readable(table.dtype, int(header["fingerprint"]))
        if layout is None:  # _scan refused these already
            raise SpillLayoutError(f"spilled batch {entry.batch_id:016x} holds records of an unknown layout for {table.name}")
        records = upgrade(np.frombuffer(raw, layout, offset=HEADER.itemsize), table.dtype)
        return Batch(header["ring"].decode("utf-8", "replace"), int(header["incarnation"]), int(header["start"]), int(header["end"]),
                     table, records, in_doubt=bool(header["flags"] & IN_DOUBT), from_spill=True)

    def release(self, batch_id: int) -> None:
        """The oldest batch (``batch_id``) is in the store: forget it; delete segments left empty."""
        entry = self.entries.pop(0)
        assert entry.batch_id == batch_id, (entry.batch_id, batch_id)
        self._segments_live[entry.segment] -= 1
        if self._segments_live[entry.segment] == 0 and (entry.segment != self._segment or not self.entries):
            if entry.segment == self._segment and self._fd is not None:
                os.close(self._fd)
                self._fd, self._size, self._dirty_since = None, 0, 0.0
            os.unlink(self._path(entry.segment))
            del self._segments_live[entry.segment]

    def close(self) -> None:
        if self._fd is not None:
            self._sync()
            os.close(self._fd)
            self._fd = None


def _ring_name(batch: Batch) -> bytes:
    name = batch.ring_name.encode()
    if len(name) > HEADER.fields["ring"][0].itemsize:
        raise SpillError(f"ring name {batch.ring_name!r} is too long for the spill header")
    return name
