"""Dead letters: batches the store refused for what is in them, kept on disk with the reason, never retried alone.

A batch the store answers "never" to (a CHECK constraint, a type it refuses,
more days than one insert may span; store.base.StoreRejected) would be refused
again on every retry, so the writer moves it here, logs the commit log's
QUARANTINED record and commits the ring tail: the ring and the next batches go
on, and nothing is lost or counted as stored. In the writer's state directory
(``<state-dir>/<group>/deadletter/``)::

  batches.bin   each batch's records exactly as they were in the ring (current layout), back to back
  index.jsonl   one JSON line per batch: batch_id, table, ring, incarnation, start, end, rows, offset,
                bytes, crc32, layout fingerprint, time, reason

A batch is written (fsync) before its index line (fsync); bytes past the last
index line (a crash between the two) are cut off on open. A batch id already in
the index is not added twice (a writer killed after quarantining, before its
commit log record, quarantines the same batch again on restart).

After fixing the cause (dropping the constraint, widening the type...), replay
them with ``tickagg write --replay-dead-letters`` (same ``--group``,
``--state-dir`` and ``--store``; the writer must not be running): each batch
is inserted once (deduplicated by its batch id like any in-doubt batch); those
the store refuses again stay, with the new reason. ``numpy.fromfile`` reads
``batches.bin`` too (dtype: ``store.tables.BY_NAME[table].dtype``).
"""
from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import time
import zlib

import numpy as np
import orjson

from store.batch import Batch
from store.tables import BY_NAME
from shm.layouts import fingerprint, readable, upgrade

log = logging.getLogger(__name__)

BATCHES, INDEX = "batches.bin", "index.jsonl"


class DeadLetterError(RuntimeError):
    """The dead-letter files cannot be written or read."""


@dataclasses.dataclass
class ReplayResult:
    replayed_batches: int = 0
    replayed_rows: int = 0
    refused: int = 0  # refused again (kept, with the new reason)
    left: int = 0  # not tried: the store went away


class DeadLetters:
    """The dead-letter files of one writer. The writer holds them with a shared lock, a replay with an
    exclusive one, so a replay cannot rewrite them under a running writer."""

    def __init__(self, directory: str, exclusive: bool = False):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.batches_path, self.index_path = os.path.join(directory, BATCHES), os.path.join(directory, INDEX)
        self._index_fd = os.open(self.index_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._index_fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._index_fd)
            raise DeadLetterError(f"{self.index_path} is held by another process (a running `tickagg write`?)") from None
        self.entries = self._read_index()
        self._ids = {int(e["batch_id"], 16) for e in self.entries}
        self._batches_fd = os.open(self.batches_path, os.O_RDWR | os.O_CREAT, 0o600)
        end = max((e["offset"] + e["bytes"] for e in self.entries), default=0)
        if os.fstat(self._batches_fd).st_size > end:
            log.warning("%s: cutting off %d bytes of a batch whose index line was never written",
                        self.batches_path, os.fstat(self._batches_fd).st_size - end)
            os.ftruncate(self._batches_fd, end)
        self._size = end

    def _read_index(self) -> list[dict]:
        with open(self.index_path, "rb") as f:
            lines = f.read().split(b"\n")
        entries = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entries.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                if number == len(lines):  # a torn last line: its batch is cut off with it
                    break
                raise DeadLetterError(f"{self.index_path}: line {number} is not JSON; fix or move the file aside") from None
        return entries

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def rows(self) -> int:
        return sum(int(e["rows"]) for e in self.entries)

    def __contains__(self, batch_id: int) -> bool:
        return batch_id in self._ids

    def append(self, batch: Batch, reason: str) -> bool:
        """Keep ``batch`` with ``reason`` (durably); False if it is here already."""
        if batch.id in self._ids:
            return False
        payload = np.ascontiguousarray(batch.records).tobytes()
        entry = {
            "batch_id": f"{batch.id:016x}", "table": batch.table.name, "ring": batch.ring_name,
            "incarnation": batch.incarnation, "start": batch.start, "end": batch.end, "rows": len(batch.records),
            "offset": self._size, "bytes": len(payload), "crc32": zlib.crc32(payload),
            "fingerprint": fingerprint(batch.table.dtype), "time_ns": time.time_ns(), "reason": reason,
        }
        try:
            written = os.pwrite(self._batches_fd, payload, self._size)
            if written != len(payload):
                raise OSError(f"short write ({written} of {len(payload)} bytes)")
            os.fdatasync(self._batches_fd)
            os.write(self._index_fd, orjson.dumps(entry) + b"\n")
            os.fdatasync(self._index_fd)
        except OSError as exc:
            os.ftruncate(self._batches_fd, self._size)
            raise DeadLetterError(f"cannot quarantine {batch!r} to {self.directory}: {exc}") from None
        self._size += len(payload)
        self.entries.append(entry)
        self._ids.add(batch.id)
        return True

    def load(self, entry: dict) -> Batch:
        """The batch of an index entry, its records checked against the crc32 and upgraded to the current layout."""
        table = BY_NAME.get(entry["table"])
        if table is None:
            raise DeadLetterError(f"dead letter {entry['batch_id']} names an unknown table {entry['table']!r}")
        raw = os.pread(self._batches_fd, entry["bytes"], entry["offset"])
        if len(raw) != entry["bytes"] or zlib.crc32(raw) != entry["crc32"]:
            raise DeadLetterError(f"dead letter {entry['batch_id']} in {self.batches_path} has a bad checksum")
        layout = readable(table.dtype, int(entry["fingerprint"]))
        if layout is None:
            raise DeadLetterError(f"dead letter {entry['batch_id']} holds {table.name} records of a layout this tickagg does not know")
        records = upgrade(np.frombuffer(raw, layout), table.dtype)
        return Batch(entry["ring"], int(entry["incarnation"]), int(entry["start"]), int(entry["end"]), table, records,
                     in_doubt=True)

    def keep_only(self, keep: list[dict]) -> None:
        """Rewrite both files with only ``keep`` (after a replay); delete them when nothing is left."""
        temporary = self.batches_path + ".new"
        entries, offset = [], 0
        with open(temporary, "wb") as f:
            for entry in keep:
                raw = os.pread(self._batches_fd, entry["bytes"], entry["offset"])
                f.write(raw)
                entries.append({**entry, "offset": offset})
                offset += len(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.batches_path)
        os.close(self._batches_fd)
        self._batches_fd = os.open(self.batches_path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(self._index_fd, 0)
        os.write(self._index_fd, b"".join(orjson.dumps(e) + b"\n" for e in entries))
        os.fsync(self._index_fd)
        self.entries, self._size = entries, offset
        self._ids = {int(e["batch_id"], 16) for e in entries}

    def close(self) -> None:
        for fd in (self._batches_fd, self._index_fd):
            if fd is not None:
                os.close(fd)
        self._batches_fd = self._index_fd = None


def replay(dead_letters: DeadLetters, store) -> ReplayResult:
    """Insert every dead letter into ``store`` (connected, schema set up); keep those it refuses again."""
    from store.base import StoreError, StoreRejected

    result, keep = ReplayResult(), []
    for i, entry in enumerate(dead_letters.entries):
        try:
            batch = dead_letters.load(entry)
            store.insert(batch)
        except (StoreRejected, DeadLetterError) as exc:
            keep.append({**entry, "reason": str(exc)})
            result.refused += 1
            continue
        except StoreError as exc:
            log.error("replay stopped at dead letter %s: %s", entry["batch_id"], exc)
            keep.extend(dead_letters.entries[i:])
            result.left = len(dead_letters.entries) - i
            break
        result.replayed_batches += 1
        result.replayed_rows += int(entry["rows"])
    dead_letters.keep_only(keep)
    return result
