"""The spill file and the commit log: round trips, torn tails, corruption, and a full disk."""
from __future__ import annotations

import dataclasses
import os
import resource

import numpy as np
import pytest

from store.batch import Batch, ring_key
from writer.commitlog import ACK, INTENT, SPILLED, CommitLog, CommitLogError, last_per_ring
from writer.spill import Spill, SpillFullError, SpillLayoutError
from store.tables import EVENTS, TICKS
from bench.writer_command import make_ticks
from shm.layouts import layout_of
from shm.pipeline_records import EVENT


def _batch(start, count, in_doubt=False):
    return Batch("tickagg.g.out.ticks", 42, start, start + count, TICKS, make_ticks(start, count, 10**18), in_doubt=in_doubt)


def test_spill_round_trip_in_order_and_segments_deleted(tmp_path):
    spill = Spill(str(tmp_path), segment_bytes=100_000)
    batches = [_batch(i * 500, 500, in_doubt=i == 1) for i in range(5)]  # 40 kB each: several segments
    for batch in batches:
        spill.append(batch)
    spill.close()
    assert len(os.listdir(tmp_path)) >= 2
    reopened = Spill(str(tmp_path))
    assert len(reopened) == 5 and reopened.rows == 2500
    for expected in batches:
        got = reopened.peek()
        assert (got.id, got.start, got.end, got.in_doubt, got.from_spill) == (expected.id, expected.start, expected.end, expected.in_doubt, True)
        assert np.array_equal(got.records, expected.records)
        reopened.release(got.id)
    assert reopened.peek() is None and os.listdir(tmp_path) == []


def test_replayed_batches_are_skipped_on_open(tmp_path):
    spill = Spill(str(tmp_path))
    first, second = _batch(0, 10), _batch(10, 10)
    spill.append(first)
    spill.append(second)
    spill.close()
    assert [Spill(str(tmp_path), replayed={first.id}).peek().id] == [second.id]


def test_torn_tail_is_cut_and_corrupt_record_skipped(tmp_path, caplog):
    spill = Spill(str(tmp_path))
    for i in range(3):
        spill.append(_batch(i * 10, 10))
    spill.close()
    (path,) = [os.path.join(tmp_path, n) for n in os.listdir(tmp_path)]
    size = os.path.getsize(path)
    with open(path, "r+b") as f:  # flip a payload byte of the second record, and tear the third
        record = (size) // 3
        f.seek(record + 300)
        byte = f.read(1)
        f.seek(record + 300)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.truncate(path, size - 100)
    reopened = Spill(str(tmp_path))
    assert len(reopened) == 2 and os.path.getsize(path) == 2 * record
    assert reopened.peek().start == 0
    reopened.release(reopened.peek().id)
    assert reopened.peek() is None and reopened.corrupt == 1


def test_event_batches_round_trip(tmp_path):
    events = np.zeros(3, EVENT)
    events["detail"] = [b"a", b"b", b"c"]
    spill = Spill(str(tmp_path))
    spill.append(Batch("tickagg.g.binance.events", 1, 0, 3, EVENTS, events))
    assert list(spill.peek().records["detail"]) == [b"a", b"b", b"c"]


def test_full_disk_leaves_no_partial_record(tmp_path):
    """RLIMIT_FSIZE stands in for a full disk (works as any user, no mount needed): EFBIG, file cut back."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: a limited file size, then spill until it no longer fits
        os.close(read)
        code = 0
        try:
            resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
            spill = Spill(str(tmp_path))
            appended = 0
            try:
                for i in range(20):
                    spill.append(_batch(i * 1000, 1000))  # 80 kB each
                    appended += 1
            except SpillFullError as exc:
                os.write(write, f"{appended} {exc}".encode())
        except BaseException as exc:  # noqa: BLE001
            os.write(write, f"-1 {exc!r}".encode())
            code = 1
        os._exit(code)
    os.close(write)
    message = os.read(read, 4096).decode()
    os.waitpid(pid, 0)
    appended, text = message.split(" ", 1)
    assert int(appended) == 3 and "cannot spill" in text and "no room left" in text
    reopened = Spill(str(tmp_path))
    assert len(reopened) == 3 and sum(os.path.getsize(os.path.join(tmp_path, n)) for n in os.listdir(tmp_path)) < 300_000


def test_commit_log_round_trip_and_last_per_ring(tmp_path):
    path = str(tmp_path / "commit.log")
    log = CommitLog(path)
    key = ring_key("tickagg.g.out.ticks")
    log.append(INTENT, 1, key, 7, 0, 10)
    log.append(ACK, 1, key, 7, 0, 10)
    log.append(INTENT, 2, key, 7, 10, 20)
    log.append(SPILLED, 3, ring_key("other"), 7, 0, 5)
    log.close()
    with open(path, "ab") as f:
        f.write(b"torn")
    reopened = CommitLog(path)
    assert len(reopened.records) == 4 and os.path.getsize(path) == 4 * 64
    last = last_per_ring(reopened.records)
    assert (int(last[key]["kind"]), int(last[key]["start"]), int(last[key]["end"])) == (INTENT, 10, 20)
    reopened.close()
    with open(path, "r+b") as f:
        f.seek(70)
        f.write(b"\xff")
    with pytest.raises(CommitLogError, match="corrupt"):
        CommitLog(path)


def test_a_spill_of_the_earlier_tick_layout_is_upgraded_on_replay(tmp_path):
    (earlier,) = layout_of(TICKS.dtype).earlier
    old_table = dataclasses.replace(TICKS, dtype=earlier)
    current = make_ticks(0, 50, 10**18)
    old_records = np.zeros(50, earlier)
    for name in earlier.names:
        old_records[name] = current[name]
    spill = Spill(str(tmp_path))
    spill.append(Batch("tickagg.g.out.ticks", 42, 0, 50, old_table, old_records))
    spill.close()
    got = Spill(str(tmp_path)).peek()
    assert got.records.dtype == TICKS.dtype and np.array_equal(got.records, current)  # trade_id_lo 0, as written now


def test_a_spill_of_an_unknown_layout_is_refused_and_kept(tmp_path):
    unknown = np.dtype([("seq", "<u8"), ("other", "<u8")])
    spill = Spill(str(tmp_path))
    spill.append(Batch("tickagg.g.out.ticks", 42, 0, 5, dataclasses.replace(TICKS, dtype=unknown), np.zeros(5, unknown)))
    spill.close()
    files = sorted(os.listdir(tmp_path))
    with pytest.raises(SpillLayoutError, match="does not know"):
        Spill(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == files and os.path.getsize(tmp_path / files[0]) > 256


def test_a_record_whose_layout_field_is_corrupt_is_skipped_not_refused(tmp_path):
    spill = Spill(str(tmp_path))
    first, second = _batch(0, 10), _batch(10, 10)
    spill.append(first)
    spill.append(second)
    spill.close()
    (segment,) = os.listdir(tmp_path)
    with open(tmp_path / segment, "r+b") as f:  # the first record's dtype fingerprint (header bytes 40..48) garbled
        f.seek(40)
        f.write(b"\xff" * 8)
    reopened = Spill(str(tmp_path))  # the checksum fails: a corrupt record, not a layout to refuse
    assert reopened.peek().id == second.id and reopened.corrupt == 1
