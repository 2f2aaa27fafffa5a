"""A real feed gives back its tick ring's pages once the consumer has read them, and never a record not read."""
from __future__ import annotations

import os

import numpy as np
import pytest

from feed_helpers import metrics, start_feed, stop_feed, wait_until
from feeds.loop import RELEASE_MIN_BYTES
from shm import segment
from shm.records import TICK
from shm.ring import CONSUMER, Ring, ring_name

pytestmark = pytest.mark.simulator(["binance"], rate=4000)


def _resident_bytes(group: str) -> int:
    return os.stat(segment.path_of(ring_name(group, "binance"))).st_blocks * 512


def test_a_feed_gives_back_the_pages_its_consumer_read(sim, group):
    symbols = list(sim.stats()["venues"]["binance"]["symbols"])
    feed = start_feed("binance", sim.url("binance"), group, symbols)
    try:
        enough = 3 * RELEASE_MIN_BYTES // TICK.itemsize
        wait_until(lambda: metrics(group, "binance")["ticks"] > enough or feed.poll() is not None, 120,
                   "the feed to write three release steps of ticks")
        assert feed.poll() is None
        unread = _resident_bytes(group)
        assert unread >= enough * TICK.itemsize  # nothing read: nothing given back
        with Ring(ring_name(group, "binance"), CONSUMER, TICK) as ring:
            chunks, out = [], np.zeros(1 << 14, TICK)
            for _ in range(3):  # read and commit as the aggregator does, three rounds, the ring still filling
                wait_until(lambda: ring.head >= ring.tail + enough // 3, 60, "more ticks to read")
                count = ring.pop_batch(out)
                chunks.append(out[:count].copy())
                ring.commit()
                read_to = ring.tail
                wait_until(lambda: _resident_bytes(group) < unread - (read_to * TICK.itemsize) // 2, 10,
                           "the read pages given back")
            wait_until(lambda: ring.head > read_to + enough, 60, "more ticks after the last read")
            rest = np.zeros(ring.head - ring.tail, TICK)
            rest = rest[: ring.pop_batch(rest)]
            ring.commit()
    finally:
        assert "Traceback" not in stop_feed(feed)
    seq = np.concatenate([*chunks, rest])["seq"].astype(np.int64)
    assert len(seq) > 2 * enough and np.all(np.diff(seq) == 1)  # every record read whole, none zeroed
