"""The writer gives back the memory of a stored batch of big records (a minute close's feature rows)."""
from __future__ import annotations

import numpy as np

from shm.pipeline_records import FEATURE_ROW, STAMPED_TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from store.tables import FEATURES, TICKS
from writer.buffer_pages import PAGE, give_back
from writer.batcher import RingBatcher


def _rss_kb() -> int:
    with open("/proc/self/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Rss:"))


def test_give_back_returns_an_arrays_pages_and_they_read_as_zeros():
    array = np.ones(64 << 20 >> 3)  # 64 MiB, every page written
    before = _rss_kb()
    given = give_back(array)
    assert given >= array.nbytes - 2 * PAGE
    assert before - _rss_kb() >= 60 << 10
    interior = array[PAGE // 8 : -PAGE // 8]
    assert not interior.any()


def _durable(group: str, short: str, dtype, table, rows: int) -> np.ndarray:
    """Push ``rows`` records of ones, pop them as the writer does, make the batch durable: the buffer after."""
    name = ring_name(group, short)
    with Ring(name, PRODUCER, dtype, 4096) as producer, Ring(name, CONSUMER, dtype, numba=False) as consumer:
        records = np.zeros(rows, dtype)
        records.view(np.uint8)[:] = 1
        assert producer.push_batch(records) == rows
        batcher = RingBatcher(consumer, table, 4096)
        assert batcher.pop() == rows
        batcher.durable(batcher.batch())
        assert consumer.tail == rows
        return batcher.buffer[:rows]


def test_a_stored_batch_of_feature_rows_gives_its_buffer_back(group):
    buffer = _durable(group, "out.features", FEATURE_ROW, FEATURES, 300)  # 3.4 MB
    assert not buffer.view(np.uint8)[PAGE:-PAGE].any()


def test_a_stored_batch_of_ticks_keeps_its_buffer(group):
    buffer = _durable(group, "out.ticks", STAMPED_TICK, TICKS, 3000)  # reused 20 times a second: kept
    assert buffer.view(np.uint8).all()
