"""Property test: any sequence of ring operations behaves like a plain Python model."""
from __future__ import annotations

import uuid
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, remove, ring_name

operations = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, 40)),
        st.tuples(st.just("pop"), st.integers(0, 40)),
        st.tuples(st.just("commit"), st.just(0)),
        st.tuples(st.just("rewind"), st.just(0)),
        st.tuples(st.just("reattach"), st.just(0)),
    ),
    max_size=60,
)


@pytest.mark.parametrize("producer_numba, numba", [(True, True), (True, False), (False, True), (False, False)],
                         ids=["kernels", "plain-consumer", "plain-producer", "plain"])
@settings(max_examples=300, deadline=None)
@given(capacity_bits=st.integers(1, 5), ops=operations)
def test_ring_matches_model(producer_numba, numba, capacity_bits, ops):
    capacity = 1 << capacity_bits
    name = ring_name(f"model{uuid.uuid4().hex[:8]}", "r")
    producer = Ring(name, PRODUCER, TICK, capacity, numba=producer_numba)
    consumer = Ring(name, CONSUMER, TICK, numba=numba)
    committed, uncommitted = deque(), deque()  # model: records after tail, split at the read cursor
    popped_not_committed = deque()
    next_seq, dropped = 0, 0
    try:
        for op, n in ops:
            if op == "push":
                batch = np.zeros(n, dtype=TICK)
                batch["seq"] = np.arange(next_seq, next_seq + n)
                batch["price"] = batch["seq"] * 0.5 + 1.0  # whole records travel, not only the first field
                batch["ts_recv_ns"] = batch["seq"] * 7
                next_seq += n
                room = capacity - len(committed) - len(popped_not_committed) - len(uncommitted)
                fits = min(n, room)
                assert producer.push_batch(batch) == fits
                uncommitted.extend(range(next_seq - n, next_seq - n + fits))
                dropped += n - fits
            elif op == "pop":
                out = np.zeros(n, dtype=TICK)
                got = consumer.pop_batch(out)
                expected = [uncommitted.popleft() for _ in range(min(n, len(uncommitted)))]
                assert list(out["seq"][:got]) == expected
                np.testing.assert_array_equal(out["price"][:got], np.array(expected) * 0.5 + 1.0)
                np.testing.assert_array_equal(out["ts_recv_ns"][:got], np.array(expected, dtype=np.int64) * 7)
                popped_not_committed.extend(expected)
            elif op == "commit":
                consumer.commit()
                popped_not_committed.clear()
            elif op == "rewind":
                consumer.rewind()
                uncommitted.extendleft(reversed(popped_not_committed))
                popped_not_committed.clear()
            else:  # the consumer goes away and comes back: resumes at the committed tail
                consumer.close()
                consumer = Ring(name, CONSUMER, TICK, numba=numba)
                uncommitted.extendleft(reversed(popped_not_committed))
                popped_not_committed.clear()
            assert producer.dropped == dropped
            assert consumer.head - consumer.tail == len(popped_not_committed) + len(uncommitted)
    finally:
        producer.close()
        consumer.close()
        remove(name)
