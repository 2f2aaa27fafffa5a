"""writer/store_latency.py: a batch's ticks counted once per view (run, second x exchange, published totals)."""
import numpy as np

from shm import histogram
from shm.histogram_segment import SHAPE
from shm.pipeline_records import STAGE_TICK_TO_STORE
from shm.records import TICK
from writer.store_latency import StoreLatency

SECOND = 1_000_000_000


def _batch(rng, rows: int, exchanges) -> np.ndarray:
    ticks = np.zeros(rows, TICK)
    ticks["exchange_id"] = rng.choice(exchanges, rows)
    ticks["ts_recv_ns"] = 1_700_000_000 * SECOND + rng.integers(0, 3 * SECOND, rows)
    ticks["ts_recv_ns"][::7] = 0  # no receive stamp: not counted
    return ticks


def _reference(batches) -> tuple[np.ndarray, dict, np.ndarray]:
    """The views counted tick by tick exchange by exchange, as the writer did before."""
    run = np.zeros(histogram.BUCKETS, np.int64)
    seconds: dict = {}
    totals = np.zeros(SHAPE, np.int64)
    for ticks, acked in batches:
        stamped = ticks[ticks["ts_recv_ns"] > 0]
        delays = acked - stamped["ts_recv_ns"]
        histogram.add(run, delays)
        for exchange in np.unique(stamped["exchange_id"]).tolist():
            mine = delays[stamped["exchange_id"] == exchange]
            histogram.add(seconds.setdefault((acked // SECOND * SECOND, exchange), np.zeros(histogram.BUCKETS, np.int64)), mine)
            histogram.add(totals[STAGE_TICK_TO_STORE, exchange & (SHAPE[1] - 1)], mine)
    return run, seconds, totals


def test_every_view_counts_each_stamped_tick_once():
    rng = np.random.default_rng(5)
    acked = 1_700_000_003 * SECOND
    # two batches in one second, one in the next; exchange 17 lands in slot 1 of the published totals
    batches = [(_batch(rng, 2_300, [1, 2, 3, 17]), acked), (_batch(rng, 500, [2, 9]), acked + SECOND // 2),
               (_batch(rng, 40, [3]), acked + SECOND)]
    latency = StoreLatency()
    for ticks, at in batches:
        latency.record(ticks, at)
    run, seconds, totals = _reference(batches)
    assert np.array_equal(latency.run, run)
    assert latency.run.sum() == sum(int((t["ts_recv_ns"] > 0).sum()) for t, _ in batches)
    assert np.array_equal(latency.totals, totals)
    assert sorted(latency._seconds) == sorted(seconds)
    for key, counts in seconds.items():
        assert np.array_equal(latency._seconds[key], counts), key
    rows = latency.finished_rows(acked // SECOND * SECOND + SECOND)
    assert sorted(rows["exchange_id"].tolist()) == [1, 2, 3, 9, 17]
    assert rows["count"].sum() == sum(counts.sum() for (second, _), counts in seconds.items() if second == acked)


def test_a_batch_without_receive_stamps_counts_nothing():
    ticks = np.zeros(10, TICK)
    ticks["exchange_id"] = 4
    latency = StoreLatency()
    latency.record(ticks, 5 * SECOND)
    assert latency.run.sum() == 0 and latency.totals.sum() == 0 and latency._seconds == {}
