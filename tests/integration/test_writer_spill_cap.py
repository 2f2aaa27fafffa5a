"""The writer at its spill cap during an outage (a store nobody answers on), in both modes: every row that left
the ring is either in the spill or counted as dropped, per table, and none is counted as stored."""
from __future__ import annotations

import time

import pytest

from bench.writer_command import make_ticks
from shm.pipeline_records import STAMPED_TICK
from shm.ring import PRODUCER, Ring, ring_name
from store import parse
from writer.writer import Writer, WriterConfig


@pytest.mark.parametrize("mode", ["drop-oldest", "drop-newest"])
def test_spill_cap_counts_every_dropped_row(mode, group, tmp_path):
    ring = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 16)
    config = WriterConfig(group=group, state_dir=str(tmp_path), feature_names=("a",), catalogue_version=1,
                          max_batch_rows=100, spill_fsync="never", spill_max_mb=0.25, spill_full=mode)
    writer = Writer(parse("clickhouse://default@127.0.0.1:1/capped"), config)  # nothing listens on port 1
    try:
        writer.start()
        assert not writer.store_up
        pushed = 0
        for _ in range(20):
            pushed += ring.push_batch(make_ticks(pushed, 1000, time.time_ns()))
            deadline = time.monotonic() + 10
            while ring.tail < pushed and time.monotonic() < deadline:
                writer.step()
        status = writer.status()
    finally:
        writer.shutdown()
    assert ring.tail == pushed == 20_000
    dropped = status["spill_dropped_rows"].get("ticks", 0)
    assert dropped > 0 and status["spill_rows"] + dropped == pushed == status["rows_spilled"] + (dropped if mode == "drop-newest" else 0)
    assert status["spill_bytes"] <= 0.25 * (1 << 20) and status["rows_stored"] == {}
