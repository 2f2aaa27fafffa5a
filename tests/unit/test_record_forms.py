"""The feed's records without NumPy (shm/record_forms.py) are the dtypes' bytes, and a ``PlainRing`` producer
(shm/plain_ring.py) is read byte for byte by the NumPy ring and the Numba kernels (the aggregator's side)."""
from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from feeds.events import FeedEvents
from shm import segment
from shm.layouts import TICK_RESERVED, describe, fingerprint
from shm.pipeline_records import EVENT, EVENT_GAP
from shm.plain_ring import PRODUCER, PlainRing
from shm.record_forms import EVENT_FORM, EVENT_STRUCT, TICK_FORM, TICK_STRUCT
from shm.records import TICK
from shm.ring import CONSUMER, Ring, RingBusyError, RingOtherLayoutError, ring_name


@pytest.fixture
def group():
    name = f"forms{os.getpid()}x{uuid.uuid4().hex[:6]}"
    yield name
    for segment_name in segment.names(f"tickagg.{name}."):
        segment.remove(segment_name)


@pytest.mark.parametrize("form, dtype", [(TICK_FORM, TICK), (EVENT_FORM, EVENT)], ids=["tick", "event"])
def test_a_form_is_its_dtype(form, dtype) -> None:
    assert (form.itemsize, form.struct.size) == (dtype.itemsize, dtype.itemsize)
    assert form.offsets == {name: dtype.fields[name][1] for name in dtype.names}
    assert form.description == describe(dtype) and form.fingerprint == fingerprint(dtype)
    assert form.same_bytes(fingerprint(dtype)) and not form.same_bytes(fingerprint(np.dtype("<i8")))


def test_the_tick_form_knows_the_tick_alias() -> None:
    assert TICK_FORM.aliases == (describe(TICK_RESERVED),) and TICK_FORM.same_bytes(fingerprint(TICK_RESERVED))
    assert not EVENT_FORM.same_bytes(fingerprint(TICK))


def test_struct_packed_records_are_the_dtype_records() -> None:
    fields = (1_700_000_000_000_000_001, -5, 101.25, 0.5, (1 << 64) - 1, 7, 0xFFFF_FFFF, 9, -1, 0x81, 12345)
    record = np.frombuffer(TICK_STRUCT.pack(*fields), TICK)[0]
    assert tuple(record[name].item() for name in TICK.names) == fields
    event = np.frombuffer(EVENT_STRUCT.pack(5, 3, 4, 6, -8, b"gone"), EVENT)[0]
    assert (event["ts_ns"], event["exchange_id"], event["kind"], event["symbol_id"], event["value"]) == (5, 3, 4, 6, -8)
    assert event["detail"] == b"gone"


@pytest.mark.parametrize("numba", [False, True], ids=["plain", "kernels"])
def test_a_plain_producer_is_read_byte_for_byte(group, numba) -> None:
    name = ring_name(group, "binance")
    producer = PlainRing(name, PRODUCER, TICK_FORM, 8)
    try:
        records = [(i, i + 1, 1.5 * i, 2.0, i * 3, 100 + i, i % 5, 1, (-1) ** i, i % 3, 0) for i in range(13)]
        push, push_bytes = producer.record_pusher(TICK_STRUCT), producer.bytes_pusher()
        expected = b"".join(TICK_STRUCT.pack(*fields) for fields in records)
        with Ring(name, CONSUMER, TICK, numba=numba) as consumer:
            out = np.zeros(16, TICK)
            assert [push(fields) for fields in records[:3]] == [1, 1, 1]
            assert push_bytes(memoryview(expected)[3 * 64:], 10) == 5  # 8 slots: 5 fit, 5 dropped
            assert consumer.pop_batch(out) == 8 and out[:8].tobytes() == expected[: 8 * 64]
            consumer.commit()
            assert push_bytes(memoryview(expected)[8 * 64:], 5) == 5  # wraps around the ring's end
            assert consumer.pop_batch(out) == 5 and out[:5].tobytes() == expected[8 * 64:]
            assert producer.dropped == 5 and producer.head == 13
    finally:
        producer.close()


def test_a_plain_producer_is_one_producer_and_checks_the_layout(group) -> None:
    name = ring_name(group, "binance")
    with PlainRing(name, PRODUCER, TICK_FORM, 8) as producer:
        with pytest.raises(RingBusyError):
            Ring(name, PRODUCER, TICK, 8, numba=False)
        assert producer.capacity == 8 and producer.record_bytes == 64
    with pytest.raises(RingOtherLayoutError):
        PlainRing(name, "consumer", EVENT_FORM)
    with Ring(name, PRODUCER, TICK, numba=False) as ring:  # the NumPy ring takes the plain one's ring as it is
        assert ring.capacity == 8


def test_feed_events_are_event_records(group) -> None:
    name = ring_name(group, "binance.events")
    with PlainRing(name, PRODUCER, EVENT_FORM, 8) as producer, Ring(name, CONSUMER, EVENT, numba=False) as consumer:
        events = FeedEvents("binance", producer)
        events.emit(EVENT_GAP, value=3, detail="é" * 60, symbol_id=17)
        out = np.zeros(4, EVENT)
        assert consumer.pop_batch(out) == 1
        assert (out[0]["exchange_id"], out[0]["kind"], out[0]["value"], out[0]["symbol_id"]) == (1, EVENT_GAP, 3, 17)
        assert out[0]["detail"] == ("é" * 60).encode()[:104]
