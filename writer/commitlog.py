"""The writer's commit log: what happened to each batch, so a restart neither loses nor repeats one.

Append-only file of fixed 64-byte records::

  0      4    5     6      8          16         24          32      40      48        56     60     64
  +------+----+-----+------+----------+----------+-----------+-------+-------+---------+------+------+
  |magic |kind|flags| pad  | batch_id | ring_key |incarnation| start |  end  | time_ns | crc32| pad  |
  +------+----+-----+------+----------+----------+-----------+-------+-------+---------+------+------+

- INTENT  written before a batch's insert is sent: if the writer dies before
  the matching ACK, the batch is *in doubt* (the store may have it).
- ACK     the store acknowledged the batch.
- SPILLED the batch is in the spill file (writer/spill.py).
- flags bit 0: the batch came from the spill (a replay), not from a ring.

The writer commits a ring's tail only after ACK or SPILLED is written, so on
restart the last record per ring says where that ring's data is: ACK/SPILLED
[start, end) means skip those records; INTENT means re-form exactly that batch
(same id) and resolve the doubt with the store before inserting it again.

fsync: records are written with ``write()``, which survives the writer being
killed (SIGKILL included: the page cache is the kernel's). They are not
fsync'd one by one: the rings live in /dev/shm and do not survive a power
loss either, so nothing that could be recovered after one depends on these
records; the spill file, which does hold data only it has, has its own policy.
The log is fsync'd when compacted and on close.

A torn last record (the writer died inside ``write``) is dropped on open; a
bad checksum anywhere else is an error.
"""
from __future__ import annotations

import logging
import os
import time
import zlib

import numpy as np

log = logging.getLogger(__name__)

MAGIC = 0x54434C47  # "GLCT"
INTENT, ACK, SPILLED, QUARANTINED = 1, 2, 3, 4  # QUARANTINED: the store refused it; in the dead letters (writer/deadletter.py)
FROM_SPILL = 1
KIND_NAMES = {INTENT: "intent", ACK: "ack", SPILLED: "spilled", QUARANTINED: "quarantined"}

RECORD = np.dtype(
    [
        ("magic", "<u4"),
        ("kind", "u1"),
        ("flags", "u1"),
        ("pad", "<u2"),
        ("batch_id", "<u8"),
        ("ring_key", "<u8"),
        ("incarnation", "<i8"),
        ("start", "<i8"),
        ("end", "<i8"),
        ("time_ns", "<i8"),
        ("crc", "<u4"),
        ("pad2", "<u4"),
    ]
)
assert RECORD.itemsize == 64
_CRC_SPAN = RECORD.fields["crc"][1]


class CommitLogError(RuntimeError):
    """The commit log cannot be read or written."""


def _crc(raw: bytes) -> int:
    return zlib.crc32(raw[:_CRC_SPAN])


class CommitLog:
    """Open (or create) ``path``; ``records`` holds what was in it when opened (``read`` re-reads)."""

    COMPACT_BYTES = 16 << 20  # 262,144 records: a compaction takes well under a second

    def __init__(self, path: str):
        self.path = path
        self.records = self.read()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def read(self) -> np.ndarray:
        """Every whole, valid record in the file (a torn last one is cut off)."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return np.zeros(0, RECORD)
        whole = len(raw) // RECORD.itemsize * RECORD.itemsize
        records = np.frombuffer(raw[:whole], RECORD).copy()
        good = len(records)
        for i in range(len(records)):
            chunk = raw[i * RECORD.itemsize : (i + 1) * RECORD.itemsize]
            if records["magic"][i] != MAGIC or _crc(chunk) != records["crc"][i]:
                good = i
                break
        if good < len(records) - 1:
            raise CommitLogError(f"{self.path}: record {good} of {len(records)} is corrupt (bad checksum); "
                                 "refusing to guess what was stored — move the file aside to start over")
        if good * RECORD.itemsize != len(raw):
            log.warning("%s: dropping a torn last record (%d bytes)", self.path, len(raw) - good * RECORD.itemsize)
            os.truncate(self.path, good * RECORD.itemsize)
        return records[:good]

    def append(self, kind: int, batch_id: int, ring_key: int, incarnation: int, start: int, end: int, flags: int = 0) -> None:
        record = np.zeros(1, RECORD)
        record[0] = (MAGIC, kind, flags, 0, batch_id, ring_key, incarnation, start, end, time.time_ns(), 0, 0)
        raw = bytearray(record.tobytes())
        raw[_CRC_SPAN : _CRC_SPAN + 4] = _crc(bytes(raw)).to_bytes(4, "little")
        try:
            written = os.write(self._fd, raw)
        except OSError as exc:
            raise CommitLogError(f"cannot append to the commit log {self.path}: {exc}") from exc
        if written != len(raw):
            raise CommitLogError(f"short write to the commit log {self.path}")

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def rewrite(self, keep: np.ndarray) -> None:
        """Replace the log with ``keep`` (records from ``records``), atomically (write, fsync, rename)."""
        temporary = self.path + ".new"
        with open(temporary, "wb") as f:
            f.write(keep.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)
        _fsync_dir(os.path.dirname(self.path) or ".")
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.records = keep.copy()

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None


def last_per_ring(records: np.ndarray) -> dict[int, np.void]:
    """The last record about each ring's own batches (replays excluded), by ring key."""
    own = records[(records["flags"] & FROM_SPILL) == 0]
    if not len(own):
        return {}
    keys, first_from_end = np.unique(own["ring_key"][::-1], return_index=True)
    return {int(key): own[len(own) - 1 - i] for key, i in zip(keys, first_from_end)}


def acked_ids(records: np.ndarray) -> set[int]:
    return set(records["batch_id"][records["kind"] == ACK].tolist())


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
