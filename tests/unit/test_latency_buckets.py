"""The log-linear latency buckets as Prometheus le buckets: an exact upper bound, never more than one bound high."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shm import histogram
from tickagg.latency_buckets import BOUNDS_NS, BOUNDS_S, LABELS, le_buckets

values_ns = st.lists(st.integers(min_value=-10, max_value=20_000_000_000), min_size=1, max_size=200)


def _buckets(values: list[int]) -> dict[str, float]:
    counts = np.zeros(histogram.BUCKETS, np.int64)
    histogram.add(counts, np.array(values, np.int64))
    return dict(le_buckets(counts)[0])


def test_the_bounds_resolve_microseconds_up_to_ten_seconds():
    assert BOUNDS_S[:6] == (1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5) and BOUNDS_S[-1] == 10.0
    assert LABELS[-1] == "+Inf" and len(LABELS) == len(BOUNDS_S) + 1
    assert BOUNDS_NS.tolist()[:3] == [1000, 2000, 5000] and BOUNDS_NS[-1] == 10_000_000_000


@settings(max_examples=100, deadline=None)
@given(values_ns)
def test_a_value_is_counted_under_its_bound_or_the_next_one_never_under_a_smaller(values):
    cumulative = _buckets(values)
    clipped = np.maximum(np.array(values), 0)
    for label, bound in zip(LABELS, BOUNDS_NS):
        at_or_below = int((clipped <= bound).sum())
        within_a_bucket_below = int((clipped <= bound - bound // 16).sum())  # a bucket spans < 1/16 octave
        assert within_a_bucket_below <= cumulative[label] <= at_or_below
    assert cumulative["+Inf"] == len(values)


def test_values_on_bucket_edges_land_exactly():
    # buckets near 1 us: 960..991, 992..1023 (straddles 1,000 ns), 1024..1087; near 2 us: 1984..2047
    cumulative = _buckets([0, 991, 1023, 1024, 2047, 9_000_000_000, 10**11])
    assert cumulative["1e-06"] == 2  # 0 and 991 (bucket 960..991); 992..1023 straddles 1,000 ns: next bound
    assert cumulative["2e-06"] == 4  # 1023, 1024; 2047 ends the bucket 1984..2047, above 2,000 ns
    assert cumulative["5e-06"] == 5
    assert cumulative["10"] == 6 and cumulative["+Inf"] == 7


def test_the_sum_is_within_a_half_bucket_of_the_true_sum():
    values = np.random.default_rng(1).integers(0, 5_000_000, 10_000)
    counts = np.zeros(histogram.BUCKETS, np.int64)
    histogram.add(counts, values)
    _, sum_s = le_buckets(counts)
    assert abs(sum_s - values.sum() / 1e9) <= values.sum() / 1e9 / 32
