"""A batch holds at most ``max_batch_mb`` of records: a minute close's feature rows (11 KiB each) go to the store in
slices, each stored once, and the tick batches are stored between the slices, not after the whole close."""
from __future__ import annotations

import time

import numpy as np

from bench.writer_command import make_ticks
from shm.pipeline_records import FEATURE_ROW, STAMPED_TICK
from shm.ring import PRODUCER, Ring, ring_name
from store import parse
from writer.writer import Writer, WriterConfig

CAP_MB = 0.5


def _features(rows: int) -> np.ndarray:
    records = np.zeros(rows, FEATURE_ROW)
    records["start_ns"] = 60_000_000_000 * 29_936_875
    records["symbol_id"] = np.arange(1, rows + 1)
    records["values"][:, :2] = np.arange(rows)[:, None]
    return records


def test_the_mb_cap_sets_the_rows_of_a_batch(chdb_url, group, tmp_path):
    features = Ring(ring_name(group, "out.features"), PRODUCER, FEATURE_ROW, 4096)
    ticks = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 16)
    try:
        capped = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path / "capped"), max_batch_mb=CAP_MB))
        assert capped._capacity(features) == int(CAP_MB * (1 << 20)) // FEATURE_ROW.itemsize == 46
        assert capped._capacity(ticks) == int(CAP_MB * (1 << 20)) // STAMPED_TICK.itemsize == 5957
        default = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path / "default")))  # 4 MB
        assert default._capacity(features) == 373
        assert default._capacity(ticks) == 47_662  # by the MB (the ring holds 65,536, max_batch_rows 100,000)
        rows = Writer(parse(chdb_url), WriterConfig(state_dir=str(tmp_path / "rows"), max_batch_rows=1000))
        assert rows._capacity(ticks) == 1000  # the row cap, when lower, still rules
    finally:
        features.close()
        ticks.close()


def test_a_minute_close_of_feature_rows_is_stored_in_slices_with_the_tick_batches_between_them(chdb_url, group, tmp_path):
    features = Ring(ring_name(group, "out.features"), PRODUCER, FEATURE_ROW, 4096)
    ticks = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 16)
    writer = Writer(parse(chdb_url), WriterConfig(group=group, state_dir=str(tmp_path), feature_names=("a", "b"),
                                                  catalogue_version=1, max_batch_mb=CAP_MB, batch_ms=1.0,
                                                  quiet_batch_ms=0, rings=("out.features", "out.ticks")))
    inserts = []
    try:
        writer.start()
        assert writer.store_up, writer.store_error
        store_insert = writer.store.insert
        writer.store.insert = lambda batch: inserts.append((batch.table.name, batch.rows)) or store_insert(batch)
        assert features.push_batch(_features(300)) == 300
        sent = 0
        deadline = time.monotonic() + 60
        while writer.stats["rows_stored"].get("features", 0) < 300 or writer.stats["rows_stored"].get("ticks", 0) < sent:
            assert time.monotonic() < deadline, writer.stats
            if writer.stats["rows_stored"].get("features", 0) < 300:  # ticks keep coming during the close
                assert ticks.push_batch(make_ticks(sent, 20, time.time_ns())) == 20
                sent += 20
            writer.step()
            time.sleep(0.002)
        sliced = [rows for table, rows in inserts if table == "features"]
        assert sliced == [46] * 6 + [24]
        order = [table for table, _ in inserts]
        first, last = order.index("features"), len(order) - 1 - order[::-1].index("features")
        assert order[first:last].count("ticks") >= 5  # tick batches between the slices, not held up by the whole close
        db = writer.store.database
        assert [int(n) for n in writer.store.execute(f"SELECT count(), uniqExact(symbol_id) FROM {db}.features")[0]] == [300, 300]
        assert int(writer.store.execute(f"SELECT count() FROM {db}.ticks")[0][0]) == sent
    finally:
        writer.shutdown()
        features.close()
        ticks.close()
