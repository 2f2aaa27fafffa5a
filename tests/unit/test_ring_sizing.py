"""Ring capacities chosen by seconds of buffer at a peak rate (shm/topology.RingSizing): the next power of two,
bounded below by one aggregator staging flush and above by what a rate-sized ring may hold."""
from __future__ import annotations

import math

import pytest

from shm.pipeline_records import STAMPED_TICK
from shm.records import TICK
from shm.topology import (MAX_DERIVED_CAPACITY, MIN_CAPACITY, OUTPUT_RINGS, TICK_RING, RingSizing, capacity_for,
                          ring_bytes)


@pytest.mark.parametrize("rate, seconds, expected", [
    (16_000, 8, 1 << 17),  # 128,000 records: the next power of two
    (16_384, 8, 1 << 17),  # exactly a power of two: that one
    (16_385, 8, 1 << 18),
    (1, 1, MIN_CAPACITY),  # never below one staging flush
    (0.001, 0.5, MIN_CAPACITY),
    (MAX_DERIVED_CAPACITY, 1, MAX_DERIVED_CAPACITY),
])
def test_capacity_is_the_next_power_of_two_of_rate_times_seconds(rate, seconds, expected):
    capacity = capacity_for(rate, seconds)
    assert capacity == expected
    assert capacity & (capacity - 1) == 0 and capacity >= rate * seconds


@pytest.mark.parametrize("rate, seconds, words", [
    (0, 8, ["rate", "positive"]),
    (16_000, -1, ["seconds", "positive"]),
    (math.nan, 8, ["rate"]),
    (math.inf, 8, ["rate"]),
    (1e8, 600, ["more than", str(MAX_DERIVED_CAPACITY)]),
])
def test_an_impossible_sizing_is_refused_saying_why(rate, seconds, words):
    with pytest.raises(ValueError) as caught:
        capacity_for(rate, seconds)
    assert all(word in str(caught.value) for word in words), caught.value


def test_the_defaults_are_the_topology_capacities():
    sizing = RingSizing()
    assert sizing.tick_capacity() == TICK_RING.capacity == 1 << 16  # 4 s x 16,000 ticks/s per venue
    assert sizing.output_capacities() == {name: spec.capacity for name, spec in OUTPUT_RINGS.items()}
    assert sizing.output_capacities()["out.ticks"] == 1 << 19  # 4 s x 120,000 ticks/s
    assert ring_bytes(TICK, sizing.tick_capacity()) == 4096 + (4 << 20)  # 4 MiB and its header page
    assert ring_bytes(STAMPED_TICK, 1 << 19) == 4096 + 44 * (1 << 20)


def test_a_command_without_the_flags_gets_the_defaults():
    assert RingSizing.given(buffer_seconds=None, venue_peak_rate=None) == RingSizing()
    assert RingSizing.given(output_seconds=2.0, peak_rate=None) == RingSizing(output_seconds=2.0)


def test_only_the_rate_driven_rings_follow_the_sizing():
    small = RingSizing(buffer_seconds=1, venue_peak_rate=1000, output_seconds=0.5, peak_rate=5000)
    assert small.tick_capacity() == MIN_CAPACITY
    capacities = small.output_capacities()
    assert capacities.pop("out.ticks") == MIN_CAPACITY
    assert capacities == {name: spec.capacity for name, spec in OUTPUT_RINGS.items() if name != "out.ticks"}
