"""Attaching to rings: layouts that differ, roles that are taken, lifetimes."""
from __future__ import annotations

import os

import numpy as np
import pytest

from shm import header as H
from shm import segment
from shm.layouts import describe
from shm.records import TICK
from shm.ring import CONSUMER, MONITOR, PRODUCER, Ring, RingBusyError, RingError, RingLayoutError, ring_name

OTHER = np.dtype([("ts", "<i8"), ("price", "<f8"), ("qty", "<f8"), ("pad", "<u8")])


def test_attaching_with_another_dtype_says_what_differs(group):
    name = ring_name(group, "a")
    Ring(name, PRODUCER, TICK, 64).close()
    with pytest.raises(RingLayoutError) as err:
        Ring(name, CONSUMER, OTHER)
    message = str(err.value)
    assert "record size 64B in the ring, 32B asked" in message
    assert "qty:<f8@16" in message and "trade_id:<u8@32" in message


def test_attaching_another_layout_version_is_refused(group):
    name = ring_name(group, "v")
    Ring(name, PRODUCER, TICK, 64).close()
    fd, memory = segment.open_segment(name)
    np.frombuffer(memory, np.int64, count=8)[H.W_VERSION] = 99
    with pytest.raises(RingLayoutError, match="layout version 99"):
        Ring(name, CONSUMER, TICK)
    os.close(fd)


def test_monitor_takes_the_dtype_from_the_ring(group):
    name = ring_name(group, "m")
    Ring(name, PRODUCER, TICK, 64).close()
    with Ring(name) as ring:
        assert describe(ring.dtype) == describe(TICK)


def test_capacity_must_be_a_power_of_two(group):
    with pytest.raises(ValueError, match="power of two"):
        Ring(ring_name(group, "p"), PRODUCER, TICK, 1000)


def test_missing_ring_names_the_path(group):
    with pytest.raises(RingError, match=r"/tickagg\..*\.nothere"):
        Ring(ring_name(group, "nothere"), CONSUMER, TICK)


def test_one_producer_at_a_time_even_in_one_process(group):
    name = ring_name(group, "p1")
    with Ring(name, PRODUCER, TICK, 64):
        with pytest.raises(RingBusyError, match="live producer"):
            Ring(name, PRODUCER, TICK)
    Ring(name, PRODUCER, TICK).close()  # released on close


def test_roles_guard_their_operations(group):
    name = ring_name(group, "roles")
    records = np.zeros(4, dtype=TICK)
    with Ring(name, PRODUCER, TICK, 64) as producer, Ring(name, MONITOR) as monitor:
        with pytest.raises(RingError, match="consumer role"):
            monitor.pop_batch(records)
        with pytest.raises(RingError, match="only the consumer"):
            producer.commit()
        with pytest.raises(TypeError, match="carries"):
            producer.push_batch(np.zeros(4, dtype=OTHER))


def test_peek_reads_without_consuming(group):
    name = ring_name(group, "peek")
    records = np.zeros(10, dtype=TICK)
    records["seq"] = np.arange(10)
    with Ring(name, PRODUCER, TICK, 64) as producer, Ring(name, CONSUMER, TICK) as consumer, Ring(name) as monitor:
        producer.push_batch(records)
        out = np.zeros(16, dtype=TICK)
        assert monitor.peek_batch(out) == 10
        np.testing.assert_array_equal(out["seq"][:10], np.arange(10))
        assert monitor.peek_batch(out) == 0  # its own cursor moved on
        assert consumer.pop_batch(out) == 10 and consumer.tail == 0
        consumer.rewind()
        assert consumer.pop_batch(out) == 10


def test_a_producer_replaces_a_drained_unused_ring_of_another_layout(group, caplog):
    name = ring_name(group, "old")
    with Ring(name, PRODUCER, OTHER, 64) as old:  # as another release left it: everything pushed was consumed
        old.push_batch(np.zeros(5, OTHER))
        old_created = old.created_ns
    with Ring(name, CONSUMER, OTHER) as consumer:
        consumer.pop_batch(np.zeros(8, OTHER))
        consumer.commit()
    with pytest.raises(RingLayoutError, match="holds other records"):
        Ring(name, CONSUMER, TICK)  # a consumer never replaces
    with Ring(name, PRODUCER, TICK, 32) as ring:
        assert ring.dtype == TICK and ring.capacity == 32 and ring.head == 0 and ring.created_ns != old_created
    assert "replaced a drained ring of another record layout" in caplog.text


def test_a_ring_of_another_layout_with_unread_records_is_kept(group):
    name = ring_name(group, "unread")
    with Ring(name, PRODUCER, OTHER, 64) as old:
        old.push_batch(np.zeros(3, OTHER))
    with pytest.raises(RingLayoutError, match="3 records no consumer has read"):
        Ring(name, PRODUCER, TICK, 64)
    with Ring(name, MONITOR) as monitor:
        assert monitor.dtype == OTHER and monitor.head == 3


def test_a_ring_of_an_earlier_alias_layout_is_used_as_it_is(group):
    from shm.layouts import TICK_RESERVED as _TICK_RESERVED
    name = ring_name(group, "alias")
    with Ring(name, PRODUCER, _TICK_RESERVED, 64) as old:  # the earlier release's feed ring, ticks unread
        old.push_batch(np.ones(3, _TICK_RESERVED))
    with Ring(name, PRODUCER, TICK, 64) as producer:  # not replaced: the same bytes under another name
        producer.push_batch(np.zeros(1, TICK))
    with Ring(name, MONITOR) as monitor:
        assert monitor.dtype == TICK
    with Ring(name, CONSUMER, TICK) as consumer:
        out = np.zeros(8, TICK)
        assert consumer.pop_batch(out) == 4 and (out["trade_id_lo"][:3] == 1).all() and out["seq"][3] == 0
