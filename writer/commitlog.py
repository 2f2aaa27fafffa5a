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
- QUARANTINED the store refused the batch; it is in the dead letters (writer/deadletter.py).
- REPLAYED_TO  the spill's replay position (segment in ``start``, byte offset
  in ``end``): every spilled batch before it is in the store (flags FROM_SPILL,
  so readers that do not know this kind ignore it).
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

Compaction (``rewrite``, by the writer while it runs, spilling or not, and here
on open when the file is large) keeps only what a restart reads: the last
record about each ring's own batches, the spill's replay position and the
replays acknowledged after it. The new log is written beside the old one,
fsync'd, renamed over it and the directory fsync'd: a crash at any point
leaves either the old log or the new one, both saying the same about what is
stored. A large log is read in chunks, so opening one costs memory for the
records kept, not for the file.

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
INTENT, ACK, SPILLED, QUARANTINED, REPLAYED_TO = 1, 2, 3, 4, 5
# QUARANTINED: the store refused it; in the dead letters (writer/deadletter.py).
# REPLAYED_TO: where the spill's replay stands; every spilled batch before it is in the store.
FROM_SPILL = 1
KIND_NAMES = {INTENT: "intent", ACK: "ack", SPILLED: "spilled", QUARANTINED: "quarantined", REPLAYED_TO: "replayed_to"}
CHUNK_RECORDS = 1 << 15  # 2 MiB read at a time
STALL_S = float(os.environ.get("TICKAGG_FAULT_COMPACTION_STALL_S", "0") or 0)  # tests/fault only: pause before the rename

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
    """Open (or create) ``path``; ``records`` holds what was in it when opened (``read`` re-reads).

    A log larger than ``compact_bytes`` is compacted on open (``records`` is then what was kept)."""

    COMPACT_BYTES = 16 << 20  # 262,144 records: a compaction takes well under a second

    def __init__(self, path: str, compact_bytes: int = COMPACT_BYTES):
        self.path, self.compact_bytes = path, compact_bytes
        self._fd: int | None = None
        _remove_stale(path + ".new")
        try:
            size = os.path.getsize(path)
        except FileNotFoundError:
            size = 0
        if size > compact_bytes:
            before = size // RECORD.itemsize
            self.rewrite(kept(self._chunks()))
            log.info("%s: compacted on open, %d records -> %d", path, before, len(self.records))
        else:
            self.records = self.read()
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def read(self) -> np.ndarray:
        """Every whole, valid record in the file (a torn last one is cut off)."""
        parts = list(self._chunks())
        return np.concatenate(parts) if parts else np.zeros(0, RECORD)

    def _chunks(self):
        """The file's valid records, ``CHUNK_RECORDS`` at a time (a torn last record is cut off the file)."""
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            whole = size // RECORD.itemsize
            done = 0
            while done < whole:
                raw = f.read(min(CHUNK_RECORDS, whole - done) * RECORD.itemsize)
                records = np.frombuffer(raw, RECORD)
                good = _valid_prefix(raw, records)
                if good < len(records):
                    if done + good < whole - 1:
                        raise CommitLogError(
                            f"{self.path}: record {done + good} of {whole} is corrupt (bad checksum); refusing to "
                            "guess what was stored — move the file aside to start over")
                    yield records[:good].copy()
                    done += good
                    break
                yield records.copy()
                done += len(records)
        if done * RECORD.itemsize != size:
            log.warning("%s: dropping a torn last record (%d bytes)", self.path, size - done * RECORD.itemsize)
            os.truncate(self.path, done * RECORD.itemsize)

    def append(self, kind: int, batch_id: int, ring_key: int, incarnation: int, start: int, end: int, flags: int = 0) -> None:
        raw = _encode(kind, batch_id, ring_key, incarnation, start, end, flags)
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
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(keep.tobytes())
            f.flush()
            os.fsync(f.fileno())
        if STALL_S:
            time.sleep(STALL_S)  # fault tests: a window to SIGKILL the writer in
        os.replace(temporary, self.path)
        _fsync_dir(os.path.dirname(self.path) or ".")
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.records = keep.copy()

    def compact(self, replayed_to: tuple[int, int] | None) -> tuple[int, int]:
        """Rewrite the log to what a restart needs, with the spill's replay position ``replayed_to``
        (segment, offset: every spilled batch before it is in the store; None: the spill is empty);
        return (records before, after)."""
        before = self.size() // RECORD.itemsize
        records = kept(self._chunks())
        records = records[records["kind"] != REPLAYED_TO]
        own = records[(records["flags"] & FROM_SPILL) == 0]  # replay ACKs: all before ``replayed_to``
        if replayed_to is not None:
            own = np.concatenate([np.frombuffer(_encode(REPLAYED_TO, 0, 0, 0, *replayed_to, FROM_SPILL), RECORD), own])
        self.rewrite(own)
        return before, len(self.records)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None


def _encode(kind: int, batch_id: int, ring_key: int, incarnation: int, start: int, end: int, flags: int) -> bytes:
    record = np.zeros(1, RECORD)
    record[0] = (MAGIC, kind, flags, 0, batch_id, ring_key, incarnation, start, end, time.time_ns(), 0, 0)
    raw = bytearray(record.tobytes())
    raw[_CRC_SPAN : _CRC_SPAN + 4] = _crc(bytes(raw)).to_bytes(4, "little")
    return bytes(raw)


def _crc_tables() -> np.ndarray:
    """crc32 is affine over GF(2): for messages of ``_CRC_SPAN`` bytes, crc(m) = crc(zeros) ^ XOR over positions p
    of T[p][m[p]]. These tables let a chunk of records be checked with numpy, without a call per record."""
    zeros = zlib.crc32(bytes(_CRC_SPAN))
    tables = np.zeros((_CRC_SPAN, 256), np.uint32)
    message = bytearray(_CRC_SPAN)
    for position in range(_CRC_SPAN):
        for value in range(1, 256):
            message[position] = value
            tables[position, value] = zlib.crc32(message) ^ zeros
        message[position] = 0
    return tables


_CRC_ZEROS = zlib.crc32(bytes(_CRC_SPAN))
_CRC_TABLES = _crc_tables()


def _crcs(raw: bytes, count: int) -> np.ndarray:
    """The crc32 of the first ``_CRC_SPAN`` bytes of each of ``count`` records in ``raw``."""
    data = np.frombuffer(raw, np.uint8, count * RECORD.itemsize).reshape(count, RECORD.itemsize)
    columns = np.ascontiguousarray(data[:, :_CRC_SPAN].T)  # one byte position per row: gathers read contiguously
    crcs = np.full(count, _CRC_ZEROS, np.uint32)
    for position in range(_CRC_SPAN):
        crcs ^= _CRC_TABLES[position].take(columns[position])
    return crcs


def _valid_prefix(raw: bytes, records: np.ndarray) -> int:
    """How many records from the start have the magic and a matching checksum."""
    bad = np.flatnonzero((records["magic"] != MAGIC) | (records["crc"] != _crcs(raw, len(records))))
    return int(bad[0]) if len(bad) else len(records)


def kept(chunks) -> np.ndarray:
    """What a restart needs of a log (records in order, in chunks): the spill's last replay position, the replay
    ACKs after it, and the last record about each ring's own batches."""
    last: dict[int, np.ndarray] = {}
    mark = np.zeros(0, RECORD)
    replays: list[np.ndarray] = []
    for records in chunks:
        marks = np.flatnonzero(records["kind"] == REPLAYED_TO)
        if len(marks):
            mark, replays = records[marks[-1] : marks[-1] + 1], []
        after = records[marks[-1] + 1 :] if len(marks) else records
        from_spill = (after["flags"] & FROM_SPILL) != 0
        replays.append(after[from_spill & _done(after)])
        for key, record in last_per_ring(records).items():
            last[key] = np.array([record], RECORD)
    return np.concatenate([mark, *replays, *last.values()]) if (len(mark) or replays or last) else np.zeros(0, RECORD)


def last_per_ring(records: np.ndarray) -> dict[int, np.void]:
    """The last record about each ring's own batches (replays excluded), by ring key."""
    own = records[(records["flags"] & FROM_SPILL) == 0]
    if not len(own):
        return {}
    keys, first_from_end = np.unique(own["ring_key"][::-1], return_index=True)
    return {int(key): own[len(own) - 1 - i] for key, i in zip(keys, first_from_end)}


def replay_position(records: np.ndarray) -> tuple[int, int]:
    """The spill's last recorded replay position (segment, offset); (0, 0) when the log has none."""
    marks = np.flatnonzero(records["kind"] == REPLAYED_TO)
    if not len(marks):
        return 0, 0
    mark = records[marks[-1]]
    return int(mark["start"]), int(mark["end"])


def replayed_ids(records: np.ndarray) -> np.ndarray:
    """Batch ids of replays acknowledged or quarantined after the last replay position, sorted (a compact set)."""
    marks = np.flatnonzero(records["kind"] == REPLAYED_TO)
    after = records[marks[-1] + 1 :] if len(marks) else records
    return np.unique(after["batch_id"][_done(after)])


def _done(records: np.ndarray) -> np.ndarray:
    """Records that end a batch's life: stored (ACK) or refused for good and kept in the dead letters (QUARANTINED)."""
    return (records["kind"] == ACK) | (records["kind"] == QUARANTINED)


def _remove_stale(path: str) -> None:
    """A compaction's temporary file left by a crash before its rename: the log itself is intact."""
    try:
        os.unlink(path)
        log.info("removed %s, left by a compaction that did not finish", path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
