"""Bounds on what grows during a long outage: the commit log (compaction, open cost), the spill index, the spill
cap in both modes (exact dropped counts), and the Bitfinex chanId map under hostile ``subscribed`` frames."""
from __future__ import annotations

import os
import shutil
import sys
import tracemalloc
import zlib

import numpy as np
import orjson
import pytest

from bench.writer_command import make_ticks
from feeds import bitfinex
from feeds.trade import FrameError
from store.batch import Batch, ring_key
from store.tables import TICKS
from writer.commitlog import (ACK, FROM_SPILL, INTENT, RECORD, SPILLED, CommitLog, last_per_ring, replay_position,
                              replayed_ids)
from writer.spill import Spill
from writer.spill_index import ENTRY

RINGS = [f"tickagg.g.out.r{i}" for i in range(8)]


def _batch(start: int, count: int, ring: str = "tickagg.g.out.ticks") -> Batch:
    return Batch(ring, 42, start, start + count, TICKS, make_ticks(start, count, 10**18))


def _outage_log(path: str, records: int) -> None:
    """A commit log as a long outage leaves it: SPILLED for every 1-row batch of 8 rings, then the first
    INTENT/ACK replays when the store is back."""
    log = np.zeros(records, RECORD)
    spilled = records * 9 // 10
    index = np.arange(records)
    replay = (index - spilled) // 2
    log["magic"] = 0x54434C47
    log["kind"] = np.where(index < spilled, SPILLED, np.where((index - spilled) % 2 == 0, INTENT, ACK))
    log["flags"] = np.where(index < spilled, 0, FROM_SPILL)
    log["batch_id"] = np.where(index < spilled, index, replay)
    keys = np.array([ring_key(ring) for ring in RINGS], np.uint64)
    log["ring_key"] = keys[log["batch_id"] % len(RINGS)]
    log["incarnation"], log["start"], log["end"] = 1, log["batch_id"], log["batch_id"] + 1
    raw = memoryview(log.tobytes())
    log["crc"] = np.fromiter((zlib.crc32(raw[i : i + 56]) for i in range(0, len(raw), 64)), np.uint32, records)
    log.tofile(path)


def test_a_million_record_commit_log_opens_in_bounded_memory_and_is_compacted(tmp_path):
    """Bounded memory and a compacted file (what keeps a restart after a long outage quick); its time is
    `tickagg bench outage`'s to measure, not a test's (timed asserts flaked under load)."""
    path, copy = str(tmp_path / "commit.log"), str(tmp_path / "copy" / "commit.log")
    _outage_log(path, 1_000_000)
    size = os.path.getsize(path)
    os.makedirs(os.path.dirname(copy))
    shutil.copyfile(path, copy)
    reference = CommitLog.__new__(CommitLog)
    reference.path = path
    everything = reference.read()
    assert len(everything) == 1_000_000
    want_last = {key: record.tobytes() for key, record in last_per_ring(everything).items()}
    want_replayed = replayed_ids(everything)
    del everything
    log = CommitLog(path)
    tracemalloc.start()
    CommitLog(copy).close()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.25 * size, (peak, size)  # reading the whole file costs 2x its size (bytes, then records)
    # compacted on open to what a restart needs: the same last word per ring, the same replayed ids
    assert os.path.getsize(path) == len(log.records) * RECORD.itemsize < size / 10
    assert {key: r.tobytes() for key, r in last_per_ring(log.records).items()} == want_last
    assert np.array_equal(replayed_ids(log.records), want_replayed)
    log.close()
    again = CommitLog(path)  # the compacted file opens as it was written
    assert np.array_equal(again.records, log.records)
    again.close()


def test_compaction_keeps_the_last_word_per_ring_and_the_replay_position(tmp_path):
    path = str(tmp_path / "commit.log")
    log = CommitLog(path, compact_bytes=64 * 100)
    key, other = ring_key("a"), ring_key("b")
    for i in range(200):
        log.append(SPILLED, i, key, 3, i * 10, i * 10 + 10)
    log.append(INTENT, 900, other, 3, 0, 5)
    for i in range(50):  # replays of the first 50 spilled batches
        log.append(INTENT, i, key, 3, i * 10, i * 10 + 10, FROM_SPILL)
        log.append(ACK, i, key, 3, i * 10, i * 10 + 10, FROM_SPILL)
    before, after = log.compact((4, 12345))
    assert (before, after) == (301, 3)
    log.append(ACK, 50, key, 3, 500, 510, FROM_SPILL)
    log.close()
    reopened = CommitLog(path)
    last = last_per_ring(reopened.records)
    assert (int(last[key]["kind"]), int(last[key]["end"])) == (SPILLED, 2000)
    assert (int(last[other]["kind"]), int(last[other]["batch_id"])) == (INTENT, 900)
    assert replay_position(reopened.records) == (4, 12345)
    assert replayed_ids(reopened.records).tolist() == [50]
    reopened.close()


def test_a_stale_compaction_file_is_removed_and_the_log_kept(tmp_path):
    path = str(tmp_path / "commit.log")
    log = CommitLog(path)
    log.append(ACK, 1, ring_key("a"), 1, 0, 10)
    log.close()
    with open(path + ".new", "wb") as f:
        f.write(b"half a compaction")
    assert len(CommitLog(path).records) == 1 and not os.path.exists(path + ".new")


def test_spill_reopens_at_the_replay_position_with_a_compact_index(tmp_path):
    spill = Spill(str(tmp_path), fsync="never", segment_bytes=40_000)
    for i in range(2000):
        spill.append(_batch(i, 1, RINGS[i % 8]))
    replayed = []
    for _ in range(700):
        batch = spill.peek()
        spill.release(batch.id)
        replayed.append(batch.id)
    position = spill.position()
    spill.close()
    files = len(os.listdir(tmp_path))
    reopened = Spill(str(tmp_path), replayed_to=position)
    assert len(reopened) == 1300 and reopened.rows == 1300 and len(os.listdir(tmp_path)) == files
    assert reopened.peek().start == 700
    assert reopened.index.view().nbytes == 1300 * ENTRY.itemsize == 1300 * 56  # names kept once
    assert reopened.spilled_ends()[(RINGS[1999 % 8], 42)] == 2000
    # an earlier position, with the replays after it known by id, gives the same
    same = Spill(str(tmp_path), replayed_to=(1, 0), replayed=set(replayed))
    assert len(same) == 1300 and same.peek().start == 700


def test_spill_cap_drop_newest_counts_exactly_and_keeps_the_oldest(tmp_path):
    record_bytes = 256 + 100 * TICKS.dtype.itemsize
    spill = Spill(str(tmp_path), fsync="never", max_bytes=10 * record_bytes + 10, full="drop-newest")
    appended = [spill.append(_batch(i * 100, 100)) for i in range(25)]
    assert appended == [True] * 10 + [False] * 15
    assert spill.dropped_rows == {"ticks": 1500} and spill.dropped_batches == 15
    assert spill.bytes <= spill.max_bytes and len(spill) == 10
    assert spill.peek().start == 0
    assert not spill.append(_batch(0, 100_000))  # larger than the cap: refused whatever the mode
    assert spill.dropped_rows == {"ticks": 101_500}


def test_spill_cap_drop_oldest_counts_exactly_and_keeps_the_newest(tmp_path):
    record_bytes = 256 + 100 * TICKS.dtype.itemsize
    cap = 16 * record_bytes  # segments of two records
    spill = Spill(str(tmp_path), fsync="never", max_bytes=cap, full="drop-oldest")
    assert all(spill.append(_batch(i * 100, 100)) for i in range(41))
    kept = len(spill)
    assert spill.dropped_rows == {"ticks": (41 - kept) * 100} and spill.dropped_batches == 41 - kept > 0
    assert sum(os.path.getsize(tmp_path / n) for n in os.listdir(tmp_path)) == spill.bytes <= cap
    assert spill.rows == kept * 100
    starts = []
    while (batch := spill.peek()) is not None:
        starts.append(batch.start)
        spill.release(batch.id)
    assert starts == [i * 100 for i in range(41 - kept, 41)]  # the newest, in order, none missing


def test_bitfinex_channel_map_stays_flat_under_subscribed_floods():
    parser = bitfinex.Parser()
    refused = 0

    def flood(first: int, count: int) -> None:
        nonlocal refused
        for chan in range(first, first + count):
            frame = orjson.dumps({"event": "subscribed", "channel": "trades", "chanId": chan, "symbol": f"tX{chan}USD"})
            try:
                parser.parse(frame)
            except FrameError as exc:
                assert exc.kind == "unknown_channel"
                refused += 1

    flood(0, 1000)
    map_bytes = sys.getsizeof(parser.symbols)
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    flood(1000, 10_000)  # traced: 10x slower, so a tenth of the frames
    grown = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert grown < 16 * 1024, grown  # unbounded, it grew ~1.2 MB per 10,000 frames
    flood(11_000, 90_000)
    assert len(parser.symbols) == bitfinex.MAX_CHANNELS and sys.getsizeof(parser.symbols) == map_bytes
    assert refused == 101_000 - bitfinex.MAX_CHANNELS
    # the channels it kept still work; a symbol subscribed again moves to its new channel
    assert parser.parse('[3,"te",[1,1564617600709,0.5,100.0]]')[0][0] == "tX3USD"  # the symbol
    parser.parse(orjson.dumps({"event": "subscribed", "channel": "trades", "chanId": 5000, "symbol": "tX3USD"}))
    assert parser.parse('[5000,"te",[2,1564617600709,0.5,100.0]]')[0][0] == "tX3USD"
    with pytest.raises(FrameError):
        parser.parse('[3,"te",[3,1564617600709,0.5,100.0]]')
