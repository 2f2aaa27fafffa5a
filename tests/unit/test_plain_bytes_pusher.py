"""``Ring.bytes_pusher`` (shm/plain.py): staged records pushed as bytes leave exactly what ``push_batch`` leaves.

Two plain-producer rings of the same small capacity get the same batches, one
through ``push_batch`` (numpy) and one through the bytes pusher; a consumer
drains both alike so the batches wrap, and a batch larger than the free room
is cut and its rest counted as dropped. After each step the ring files' record
bytes and the header words both producers write must be equal; then a header
with an impossible tail is repaired the same way by both.
"""
from __future__ import annotations

import numpy as np

from shm import header as H
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name

CAPACITY = 64
WORDS = (H.W_HEAD, H.W_DROPPED, H.W_PRODUCER_RESYNCS, H.W_TAIL)


def _records(first: int, count: int) -> np.ndarray:
    records = np.zeros(count, TICK)
    records["seq"] = np.arange(first, first + count)
    records["price"] = records["seq"] * 1.5
    return records


def _state(ring: Ring) -> tuple:
    return bytes(ring._memory[H.HEADER_BYTES:]), tuple(int(ring._header[w]) for w in WORDS)


def test_bytes_pusher_leaves_what_push_batch_leaves(group) -> None:
    rings = {name: Ring(ring_name(group, name), PRODUCER, TICK, CAPACITY, numba=False) for name in ("numpy", "bytes")}
    consumers = {name: Ring(ring_name(group, name), CONSUMER, TICK, numba=False) for name in rings}
    push_bytes = rings["bytes"].bytes_pusher()
    out = np.zeros(CAPACITY, TICK)
    first = 0
    try:
        for count, drain in [(1, 0), (7, 0), (40, 30), (30, 10), (50, 0), (3, 64), (64, 20), (0, 0), (5, 5)]:
            batch = _records(first, count)
            first += count
            accepted = (rings["numpy"].push_batch(batch), push_bytes(memoryview(batch.tobytes()), count))
            assert accepted[0] == accepted[1]
            assert _state(rings["numpy"]) == _state(rings["bytes"])
            for consumer in consumers.values():
                if drain:
                    consumer.pop_batch(out[:drain])
                    consumer.commit()
        assert int(rings["bytes"]._header[H.W_DROPPED]) > 0  # some batches did not fit
        for ring in rings.values():  # an impossible header: the tail ahead of the head
            ring._header[H.W_TAIL] = ring.head + 5
        batch = _records(first, 4)
        assert rings["numpy"].push_batch(batch) == push_bytes(memoryview(batch.tobytes()), 4)
        assert _state(rings["numpy"]) == _state(rings["bytes"])
        assert int(rings["bytes"]._header[H.W_PRODUCER_RESYNCS]) == 1
    finally:
        for ring in [*consumers.values(), *rings.values()]:
            ring.close()
