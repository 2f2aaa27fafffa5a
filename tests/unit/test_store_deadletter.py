"""Dead-letter files (writer/deadletter.py) and the store error classes (store/base.py), in this process."""
from __future__ import annotations

import os

import numpy as np
import pytest

from bench.writer_command import make_ticks
from store.base import StoreAuthError, StoreError, StoreRejected, StoreUnavailable, error_code, error_kind
from store.batch import Batch
from store.tables import TICKS
from writer.deadletter import DeadLetterError, DeadLetters


def _batch(start: int, rows: int) -> Batch:
    return Batch("tickagg.g.out.ticks", 7, start, start + rows, TICKS, make_ticks(start, rows, 1_700_000_000 * 10**9))


@pytest.mark.parametrize("code, text, kind", [
    (252, "Too many partitions for single INSERT block (more than 100)", StoreRejected),
    (252, "Too many parts (300). Merges are processing significantly slower than inserts", StoreUnavailable),
    (469, "Constraint `price_sane` for table t is violated at row 3", StoreRejected),
    (53, "Type mismatch", StoreRejected),
    (60, "Table tickagg.ticks doesn't exist", StoreRejected),
    (210, "Connection refused", StoreUnavailable),
    (241, "Memory limit (total) exceeded", StoreUnavailable),
    (193, "Wrong password for user writer", StoreAuthError),
    (516, "writer: Authentication failed", StoreAuthError),
    (164, "Cannot execute query in readonly mode", StoreError),
    (None, "something else", StoreError),
])
def test_error_kinds(code, text, kind):
    assert error_kind(code, text) is kind


def test_error_code_from_chdb_text():
    assert error_code("Code: 469. DB::Exception: Constraint `c` is violated") == 469
    assert error_code("no code here") is None


def test_dead_letters_keep_records_and_reason_across_reopen(tmp_path):
    dead = DeadLetters(str(tmp_path / "dl"))
    first, second = _batch(0, 300), _batch(300, 50)
    assert dead.append(first, "refused: one") and dead.append(second, "refused: two")
    assert not dead.append(first, "again")  # one entry per batch id
    dead.close()
    dead = DeadLetters(str(tmp_path / "dl"))
    assert [e["reason"] for e in dead.entries] == ["refused: one", "refused: two"]
    assert dead.rows == 350 and first.id in dead
    loaded = dead.load(dead.entries[1])
    assert loaded.records.tobytes() == second.records.tobytes() and loaded.in_doubt
    assert (loaded.ring_name, loaded.incarnation, loaded.start, loaded.end) == ("tickagg.g.out.ticks", 7, 300, 350)
    dead.keep_only([dead.entries[1]])
    assert len(dead) == 1 and dead.load(dead.entries[0]).records.tobytes() == second.records.tobytes()
    assert os.path.getsize(dead.batches_path) == second.records.nbytes
    dead.close()


def test_bytes_without_an_index_line_are_cut_off(tmp_path):
    dead = DeadLetters(str(tmp_path / "dl"))
    dead.append(_batch(0, 10), "refused")
    size = os.path.getsize(dead.batches_path)
    dead.close()
    with open(tmp_path / "dl" / "batches.bin", "ab") as f:  # died after the records, before the index line
        f.write(b"\x01" * 999)
    with open(tmp_path / "dl" / "index.jsonl", "ab") as f:  # and a torn index line
        f.write(b'{"batch_id": "00')
    dead = DeadLetters(str(tmp_path / "dl"))
    assert len(dead) == 1 and os.path.getsize(dead.batches_path) == size
    dead.close()


def test_a_corrupt_batch_is_refused_on_load(tmp_path):
    dead = DeadLetters(str(tmp_path / "dl"))
    dead.append(_batch(0, 10), "refused")
    with open(dead.batches_path, "r+b") as f:
        f.write(b"\xff\xff")
    with pytest.raises(DeadLetterError, match="bad checksum"):
        dead.load(dead.entries[0])
    dead.close()


def test_no_replay_under_a_running_writer(tmp_path):
    dead = DeadLetters(str(tmp_path / "dl"))  # as the writer holds them
    with pytest.raises(DeadLetterError, match="held by another"):
        DeadLetters(str(tmp_path / "dl"), exclusive=True)
    dead.close()
    DeadLetters(str(tmp_path / "dl"), exclusive=True).close()
