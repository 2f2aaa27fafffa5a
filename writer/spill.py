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

A cap (``max_bytes``, ``tickagg write --spill-max-mb``) bounds the bytes on
disk. At the cap ``full="drop-oldest"`` deletes the oldest segment (segments
are then at most an eighth of the cap, so a drop frees about that much) and
``"drop-newest"`` refuses the batch being spilled (``append`` returns False).
Either way the rows are lost by decision and counted per table in
``dropped_rows``; the writer commits the ring tail past a refused batch, never
counting it as stored.

Opening reads the replay position the writer last recorded in its commit log
(``replayed_to``: segment, offset): segments before it are deleted unread and
the scan of its segment starts there, so a restart after a long outage reads
only what is still to replay; batches replayed since are skipped by id
(``replayed``). The index of what is left is a numpy queue (writer/spill_index.py).
"""
from __future__ import annotations

import errno
import logging
import mmap
import os
import signal
import struct
import threading
import time
import zlib

import numpy as np

from store.batch import Batch
from store.tables import BY_NAME
from shm.layouts import fingerprint, readable, upgrade
from writer.spill_index import SpillIndex

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
FULL_POLICIES = ("drop-oldest", "drop-newest")
SEGMENT_BYTES = 64 << 20


def _checksum_holds(record: bytes, header: np.void) -> bool:
    """Whether a whole record (header, then payload) matches its header's crc32 (taken with the crc field zero)."""
    check = bytearray(record[: HEADER.itemsize])
    check[4:8] = b"\0\0\0\0"
    return zlib.crc32(memoryview(record)[HEADER.itemsize :], zlib.crc32(check)) == header["crc"]


_HEADER_FIELDS = struct.Struct("<IIQQqqqq")  # magic, crc, payload bytes, batch id, incarnation, start, end, fingerprint
_TABLE_AT = HEADER.fields["table"][1]
_RING_AT = HEADER.fields["ring"][1]


class SpillError(RuntimeError):
    """The spill cannot be written or read."""


class SpillFullError(SpillError):
    """No room left for the spill (disk full or file size limit)."""


class SpillLayoutError(SpillError):
    """The spill holds records of a layout this tickagg does not know (written by a newer release)."""


class Spill:
    def __init__(self, directory: str, fsync: str = "always", fsync_interval: float = 1.0,
                 segment_bytes: int = SEGMENT_BYTES, replayed=frozenset(), replayed_to: tuple[int, int] = (0, 0),
                 max_bytes: int = 0, full: str = "drop-oldest"):
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"spill fsync policy must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        if full not in FULL_POLICIES:
            raise ValueError(f"spill-full policy must be one of {', '.join(FULL_POLICIES)}, not {full!r}")
        if max_bytes:
            segment_bytes = max(1, min(segment_bytes, max_bytes // 8))
        self.directory, self.fsync, self.fsync_interval, self.segment_bytes = directory, fsync, fsync_interval, segment_bytes
        self.max_bytes, self.full = max_bytes, full
        os.makedirs(directory, exist_ok=True)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE: EFBIG, not death
        self.index = SpillIndex()  # not yet replayed, oldest first
        self.corrupt = 0
        self.dropped_rows: dict[str, int] = {}  # table -> rows dropped at the cap
        self.dropped_batches = 0
        self._segment_sizes: dict[int, int] = {}  # live segment -> its bytes on disk
        self._fd: int | None = None
        self._segment = 0
        self._size = 0
        self._dirty_since = 0.0
        self._scan(np.asarray(sorted(replayed), dtype=np.uint64), replayed_to)

    # -- open -----------------------------------------------------------------
    def _path(self, segment: int) -> str:
        return os.path.join(self.directory, f"spill-{segment:08d}.bin")

    def _scan(self, replayed: np.ndarray, replayed_to: tuple[int, int]) -> None:
        segments = sorted(int(n[6:14]) for n in os.listdir(self.directory) if n.startswith("spill-") and n.endswith(".bin"))
        known: dict[tuple[bytes, int], bool] = {}  # (table, fingerprint) -> readable
        for segment in segments:
            path = self._path(segment)
            if segment < replayed_to[0]:
                os.unlink(path)  # replayed to the end; its deletion was cut short
                continue
            size = os.path.getsize(path)
            offset = replayed_to[1] if segment == replayed_to[0] else 0
            with open(path, "rb") as f:
                data = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) if size else b""
                try:
                    if offset and not self._record_at(data, offset, size):
                        log.warning("spill %s: no record at the replay position %d; reading it all", path, offset)
                        offset = 0
                    offset = self._scan_segment(segment, data, offset, size, replayed, known, path)
                finally:
                    if size:
                        data.close()
            if offset < size:
                log.warning("spill %s: dropping a torn record at byte %d (%d bytes)", path, offset, size - offset)
                os.truncate(path, offset)
            self._segment_sizes[segment] = offset
        self._segment = max(segments + [replayed_to[0]])  # new segments come after the replay position
        live = set(self.index.view()["segment"].tolist())
        for segment in list(self._segment_sizes):
            if segment not in live:
                os.unlink(self._path(segment))
                del self._segment_sizes[segment]

    @staticmethod
    def _record_at(data, offset: int, size: int) -> bool:
        return offset + HEADER.itemsize <= size and _HEADER_FIELDS.unpack_from(data, offset)[0] == MAGIC

    def _scan_segment(self, segment: int, data, offset: int, size: int, replayed: np.ndarray, known: dict, path: str) -> int:
        """Index the segment's records from ``offset``; return where the whole records end."""
        unpack, push = _HEADER_FIELDS.unpack_from, self.index.push
        while offset + HEADER.itemsize <= size:
            magic, _crc, payload_bytes, batch_id, incarnation, start, end, fprint = unpack(data, offset)
            total = HEADER.itemsize + payload_bytes
            if magic != MAGIC or offset + total > size:
                break
            at = np.searchsorted(replayed, batch_id) if len(replayed) else 0
            if not (at < len(replayed) and replayed[at] == batch_id):
                table = bytes(data[offset + _TABLE_AT : offset + _TABLE_AT + 16]).rstrip(b"\0")
                if known.get((table, fprint)) is None:
                    known[(table, fprint)] = self._check_layout(path, data, offset, total, table, fprint)
                ring = bytes(data[offset + _RING_AT : offset + HEADER.itemsize]).rstrip(b"\0")
                push(segment, offset, total, batch_id, table.decode("utf-8", "replace"), end - start,
                     ring.decode("utf-8", "replace"), incarnation, end)
            offset += total
        return offset

    @staticmethod
    def _check_layout(path: str, data, offset: int, total: int, table_name: bytes, fprint: int) -> bool:
        """Refuse to open a spill this release cannot replay, rather than skip (lose) its batches: a record
        whose checksum holds and whose layout is unknown. (A record that fails its checksum is skipped on replay.)
        True when records of this table and fingerprint are readable (known for the rest of the scan)."""
        table = BY_NAME.get(table_name.decode("utf-8", "replace"))
        if table is None or readable(table.dtype, fprint) is not None:
            return True
        record = bytes(data[offset : offset + total])
        if not _checksum_holds(record, np.frombuffer(record[: HEADER.itemsize], HEADER)[0]):
            return None  # this one is corrupt: look again at the next
        raise SpillLayoutError(
            f"spill {path} holds {table.name} records of a layout this tickagg does not know (written by another "
            "release?); nothing was replayed or deleted: run the release that wrote it until its spill is empty")

    # -- append ---------------------------------------------------------------
    def append(self, batch: Batch) -> bool:
        """Write ``batch`` (durably, per the fsync policy) or raise ``SpillFullError`` having written nothing.
        False: the batch was refused at the cap (``drop-newest``, or larger than the cap) and counted as dropped."""
        payload = memoryview(np.ascontiguousarray(batch.records)).cast("B")
        header = np.zeros(1, HEADER)
        header[0] = (MAGIC, 0, len(payload), batch.id, batch.incarnation, batch.start, batch.end,
                     fingerprint(batch.table.dtype), IN_DOUBT if batch.in_doubt else 0, 0,
                     batch.table.name.encode(), _ring_name(batch))
        raw = bytearray(header.tobytes())
        crc = zlib.crc32(payload, zlib.crc32(raw))
        raw[4:8] = crc.to_bytes(4, "little")
        total = len(raw) + len(payload)
        if self.max_bytes and not self._make_room(total):
            self._count_dropped({batch.table.name: batch.rows}, 1)
            return False
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
        self._segment_sizes[self._segment] = self._size
        self._dirty_since = self._dirty_since or time.monotonic()
        self.index.push(self._segment, start, total, batch.id, batch.table.name, batch.rows, batch.ring_name,
                        batch.incarnation, batch.end)
        self.tick()
        return True

    def _make_room(self, total: int) -> bool:
        """Whether ``total`` more bytes fit under the cap, after dropping the oldest segments if so configured."""
        if total > self.max_bytes:
            return False
        while self.bytes + total > self.max_bytes:
            if self.full != "drop-oldest" or not self._segment_sizes:
                return False
            oldest = min(self._segment_sizes)
            if oldest == self._segment and self._fd is not None:
                self._open_segment()  # the oldest is the one being written: start the next before deleting it
            self._drop_segment(oldest)
        return True

    def _drop_segment(self, segment: int) -> None:
        """Delete ``segment`` with the batches in it not yet replayed (at the cap, oldest first); count them."""
        gone = self.index.pop(self.index.count_in(segment))
        rows: dict[str, int] = {}
        for table, count in zip(gone["table"].tolist(), gone["rows"].tolist()):
            name = self.index.names[table]
            rows[name] = rows.get(name, 0) + count
        os.unlink(self._path(segment))
        del self._segment_sizes[segment]
        self._count_dropped(rows, len(gone))
        log.warning("spill at its cap (%d bytes): dropped its oldest segment %s, %d batches (%s rows per table)",
                    self.max_bytes, self._path(segment), len(gone), rows)

    def _count_dropped(self, rows: dict[str, int], batches: int) -> None:
        for table, count in rows.items():
            self.dropped_rows[table] = self.dropped_rows.get(table, 0) + count
        self.dropped_batches += batches

    def _open_segment(self) -> None:
        if self._fd is not None:
            self._sync()
            os.close(self._fd)
        self._segment += 1
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        self._segment_sizes[self._segment] = 0

    def _cut(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            log.exception("spill: could not cut %s back to %d bytes", self._path(self._segment), size)

    def tick(self) -> None:
        """Apply the ``interval`` fsync policy (the writer calls this from its loop)."""
        if self.fsync == "interval" and self._dirty_since and time.monotonic() - self._dirty_since >= self.fsync_interval:
            self._sync()

    def sync_in(self, now_s: float) -> float:
        """Seconds until ``tick`` has an ``interval`` fsync to do (infinite when none is pending)."""
        if self.fsync == "interval" and self._dirty_since:
            return self._dirty_since + self.fsync_interval - now_s
        return float("inf")

    def _sync(self) -> None:
        if self._fd is not None and self._dirty_since and self.fsync != "never":
            os.fdatasync(self._fd)
        self._dirty_since = 0.0

    # -- replay ---------------------------------------------------------------
    @property
    def rows(self) -> int:
        return self.index.rows

    @property
    def bytes(self) -> int:
        """Bytes of the spill's segments on disk."""
        return sum(self._segment_sizes.values())

    def __len__(self) -> int:
        return len(self.index)

    def position(self) -> tuple[int, int]:
        """The replay position: (segment, offset) of the oldest batch not yet replayed; every batch before it is
        in the store. With nothing left, the start of the next segment."""
        if len(self.index):
            first = self.index.first()
            return int(first["segment"]), int(first["offset"])
        return self._segment + 1, 0

    def spilled_ends(self) -> dict[tuple[str, int], int]:
        """(ring, incarnation) -> ring position after its last spilled batch not yet replayed."""
        ends: dict[tuple[str, int], int] = {}
        entries = self.index.view()
        for ring, incarnation, end in zip(entries["ring"].tolist(), entries["incarnation"].tolist(), entries["end"].tolist()):
            key = (self.index.names[ring], incarnation)
            ends[key] = max(ends.get(key, 0), end)
        return ends

    def peek(self) -> Batch | None:
        """The oldest batch not yet replayed (None: the spill is empty). Corrupt records are skipped."""
        while len(self.index):
            entry = self.index.first()
            try:
                return self._load(entry)
            except SpillLayoutError:
                raise  # never skipped: _scan refuses such a spill before any replay
            except SpillError as exc:
                log.error("%s; skipping it", exc)
                self.corrupt += 1
                self.release(int(entry["batch_id"]))
        return None

    def _load(self, entry: np.void) -> Batch:
        segment, offset, size, batch_id = int(entry["segment"]), int(entry["offset"]), int(entry["size"]), int(entry["batch_id"])
        with open(self._path(segment), "rb") as f:
            f.seek(offset)
            raw = f.read(size)
        header = np.frombuffer(raw[: HEADER.itemsize], HEADER)[0] if len(raw) >= HEADER.itemsize else None
        if len(raw) != size or not _checksum_holds(raw, header):
            raise SpillError(f"spilled batch {batch_id:016x} in {self._path(segment)} at {offset} has a bad checksum")
        table = BY_NAME.get(header["table"].decode("utf-8", "replace"))
        if table is None:
            raise SpillError(f"spilled batch {batch_id:016x} names an unknown table")
        layout = readable(table.dtype, int(header["fingerprint"]))
        if layout is None:  # _scan refused these already
            raise SpillLayoutError(f"spilled batch {batch_id:016x} holds records of an unknown layout for {table.name}")
        records = upgrade(np.frombuffer(raw, layout, offset=HEADER.itemsize), table.dtype)
        return Batch(header["ring"].decode("utf-8", "replace"), int(header["incarnation"]), int(header["start"]), int(header["end"]),
                     table, records, in_doubt=bool(header["flags"] & IN_DOUBT), from_spill=True)

    def release(self, batch_id: int) -> None:
        """The oldest batch (``batch_id``) is in the store: forget it; delete segments left empty."""
        (entry,) = self.index.pop()
        assert int(entry["batch_id"]) == batch_id, (int(entry["batch_id"]), batch_id)
        segment = int(entry["segment"])
        if self.index.count_in(segment) == 0 and (segment != self._segment or not len(self.index)):
            if segment == self._segment and self._fd is not None:
                os.close(self._fd)
                self._fd, self._size, self._dirty_since = None, 0, 0.0
            os.unlink(self._path(segment))
            self._segment_sizes.pop(segment, None)

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
