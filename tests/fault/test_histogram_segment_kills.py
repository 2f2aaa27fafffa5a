"""The latency histogram segment between real processes: a reader never gets a half-written publication, and a
producer SIGKILLed mid-stream leaves the segment to its restart (the kernel drops its lock)."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
from feed_helpers import wait_until

from shm import histogram_segment as hs


def _publish_forever(group: str) -> None:
    """Publish arrays whose every count is the same number k = 1, 2, 3 ... (a torn copy mixes two)."""
    publisher = hs.HistogramPublisher(group, "aggregator")
    counts = np.zeros(hs.SHAPE, np.int64)
    k = 0
    while True:
        k += 1
        counts[...] = k
        publisher.publish(counts)
        time.sleep(0.0005)


def _latest(group: str) -> int:
    counts = hs.read_counts(group, "aggregator")
    return 0 if counts is None else int(counts.max())


def test_readers_see_whole_publications_and_a_killed_producer_is_replaced(group, spawn):
    producer = spawn(_publish_forever, group)
    wait_until(lambda: _latest(group) > 0, 60, "the first publication")
    seen = set()
    for _ in range(300):
        counts = hs.read_counts(group, "aggregator")
        if counts is not None:
            assert counts.min() == counts.max(), "a torn read: counts of two publications mixed"
            seen.add(int(counts[0, 0, 0]))
    assert len(seen) > 5, seen  # the producer kept publishing while we read
    os.kill(producer.pid, signal.SIGKILL)
    producer.join(10)
    restarted = hs.HistogramPublisher(group, "aggregator")  # the lock went with the killed process
    assert hs.read_counts(group, "aggregator").sum() == 0  # a counter reset, which Prometheus allows for
    restarted.close()
