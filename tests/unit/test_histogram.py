"""The one latency histogram (shm/histogram.py): plain and compiled paths agree, quantiles within half a bucket."""
from __future__ import annotations

import math
import subprocess
import sys

import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import latency
from shm import histogram
from writer.store_latency import latency_summary

INT64_MAX = 2**63 - 1
EDGES = [-(2**40), -1, 0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 1000, 2**45 - 1, 2**45, 2**53 - 1, 2**53 + 1,
         2**60 - 1, 2**60, 2**62, INT64_MAX]


@numba.njit
def _record_all(histograms, stage, exchange_id, values):
    for value in values:
        latency.record(histograms, stage, exchange_id, value)


def _compiled_counts(values: np.ndarray) -> np.ndarray:
    histograms = latency.new_histograms()
    _record_all(histograms, 2, 3, values)
    return histograms[2, 3]


def _plain_counts(values: np.ndarray) -> np.ndarray:
    counts = np.zeros(histogram.BUCKETS, dtype=np.int64)
    histogram.add(counts, values)
    return counts


def _exact_quantiles(values: np.ndarray) -> np.ndarray:
    """The smallest value with at least q * n values at or below it, for each QUANTILE (negatives as 0)."""
    ordered = np.sort(np.maximum(values, 0))
    return np.array([ordered[max(math.ceil(q * ordered.size), 1) - 1] for q in histogram.QUANTILES], dtype=np.float64)


def _old_aggregator_bucket(value: int) -> int:
    """The aggregator's bucket index of the previous release (below its clamp at 2^45 ns)."""
    if value < 16:
        return max(value, 0)
    mantissa, exponent = math.frexp(value)
    return (exponent - 4) * 16 + int((mantissa * 2.0 - 1.0) * 16)


def _old_writer_bucket(value: int) -> int:
    """The writer's bucket index of the previous release (values <= 0 counted as 1)."""
    mantissa, exponent = math.frexp(max(value, 1))
    return (exponent - 1) * 16 + int((mantissa * 2 - 1) * 16)


def test_compiled_and_plain_buckets_agree_at_the_edges():
    values = np.array(EDGES, dtype=np.int64)
    plain = histogram.bucket_of(values)
    assert [latency.bucket_of(v) for v in values] == plain.tolist()
    assert np.array_equal(_compiled_counts(values), _plain_counts(values))


def test_layout():
    assert histogram.bucket_of(np.arange(32)).tolist() == list(range(32))  # exact below 32 ns
    for k in range(5, 63):  # 16 buckets per octave, each octave starting on a power of two
        assert histogram.bucket_of(2**k) == (k - 3) * 16
        assert histogram.bucket_of(2**k - 1) == (k - 3) * 16 - 1
        assert histogram.bucket_of(2**k + 2 ** (k - 4)) == (k - 3) * 16 + 1
    assert histogram.bucket_of(-5) == 0 and histogram.bucket_of(INT64_MAX) == histogram.BUCKETS - 1


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-100, max_value=2**45 - 1))
def test_same_edges_as_the_previous_histograms(value):
    assert histogram.bucket_of(value) == _old_aggregator_bucket(value)
    if value >= 16:  # below, the old writer had finer buckets holding one integer each, as here
        assert histogram.bucket_of(value) == _old_writer_bucket(value) - 48


def test_edges_of_the_previous_writer_below_16_ns():
    pairs = {(histogram.bucket_of(v), _old_writer_bucket(v)) for v in range(1, 32)}  # it merged 0 into 1's bucket
    assert len(pairs) == len({new for new, _ in pairs}) == len({old for _, old in pairs})  # one bucket <-> one bucket


def _samples(draw) -> np.ndarray:
    scale = draw(st.sampled_from([1, 30, 1_000, 1_000_000, 10**9, 10**15]))
    shape = draw(st.sampled_from(["uniform", "lognormal", "exponential", "two_modes", "constant"]))
    size = draw(st.integers(min_value=1, max_value=5_000))
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    if shape == "uniform":
        values = rng.uniform(-0.01 * scale, scale, size)
    elif shape == "lognormal":
        values = scale * rng.lognormal(0.0, draw(st.floats(min_value=0.1, max_value=3.0)), size)
    elif shape == "exponential":
        values = rng.exponential(scale, size)
    elif shape == "two_modes":
        values = np.where(rng.random(size) < 0.99, rng.normal(scale, scale / 10, size), 50.0 * scale)
    else:
        values = np.full(size, float(scale))
    return np.minimum(values, 2**62).astype(np.int64)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_quantiles_within_half_a_bucket(data):
    values = _samples(data.draw)
    counts = _plain_counts(values)
    estimates = histogram.quantiles(counts)
    exact = _exact_quantiles(values)
    assert np.all(np.abs(estimates - exact) <= exact / 32), (estimates, exact)
    assert np.array_equal(latency.quantiles(counts), estimates)
    assert np.array_equal(_compiled_counts(values), counts)


def test_quantile_edge_cases():
    for value, expected in ((0, 0.0), (1, 1.0), (31, 31.0), (-7, 0.0)):
        assert histogram.quantiles(_plain_counts(np.array([value]))).tolist() == [expected] * 5
    huge = histogram.quantiles(_plain_counts(np.array([INT64_MAX])))
    assert np.all(np.abs(huge - INT64_MAX) <= INT64_MAX / 32)
    empty = np.zeros(histogram.BUCKETS, dtype=np.int64)
    assert np.isnan(histogram.quantiles(empty)).all() and np.isnan(latency.quantiles(empty)).all()
    assert latency_summary(empty) == {"count": 0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "p999": 0.0, "max": 0.0}


def test_summarise_writes_the_shared_quantiles():
    from shm.pipeline_records import LATENCY

    values = np.arange(-5, 100_000, 7, dtype=np.int64)
    histograms = latency.new_histograms()
    _record_all(histograms, 1, 3, values)
    expected_totals = histograms.copy()
    expected_totals[1, 3] *= 2
    totals = histograms.copy()  # an earlier second's counts, the same
    out = np.zeros(4, LATENCY)
    assert latency.summarise(histograms, totals, 7_000_000_000, out, 1) == 1
    row = out[1]
    assert (row["second_ns"], row["stage"], row["exchange_id"], row["count"]) == (7_000_000_000, 1, 3, values.size)
    quantiles = [row[name] for name in ("p50", "p90", "p99", "p999", "max")]
    assert quantiles == histogram.quantiles(_plain_counts(values)).tolist()
    assert not histograms.any()  # reset for the next second
    assert np.array_equal(totals, expected_totals)  # added to the running totals first


def test_the_writer_imports_no_numba():
    code = "import sys, writer.writer, shm.histogram; sys.exit('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
