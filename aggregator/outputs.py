"""The aggregator's output rings, staged in Numba and pushed in batches.

Each output has a staging array the kernel fills and ``flush`` pushes into its
ring (drop-on-full: a ring nobody reads counts its drops). Ticks and signals
are stamped with their publish time at flush, which is when a downstream
reader can first see them: tick-to-signal latency is measured to that moment.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from aggregator import latency
from shm import kernels
from shm.clock import now_ns
from shm.pipeline_records import STAGE_POP_TO_SIGNAL, STAGE_TICK_TO_SIGNAL
from shm.ring import PRODUCER, Ring, ring_name
from shm.topology import OUTPUT_RINGS

STAGING = 4096
TICKS, BARS1S, BARS1M, FEATURES, REGIME, LATENCY, EVENTS, SIGNALS = range(8)
ORDER = tuple(OUTPUT_RINGS)  # the indexes above, in order


class Output(NamedTuple):
    """One output ring as the kernel holds it: the ring's arrays and the rows staged for its next push."""

    records: np.ndarray  # the ring's record array (Ring.kernel_arrays)
    header: np.ndarray  # int64 header words (shm/header.py)
    staging: np.ndarray  # same dtype as records; rows [0, counts[<output>]) wait for flush_all


class Outputs(NamedTuple):
    """Every output ring, by name (the fields follow ORDER), and how many rows each has staged."""

    counts: np.ndarray  # int64 (8,): staged rows per output, indexed TICKS..SIGNALS
    ticks: Output
    bars1s: Output
    bars1m: Output
    features: Output
    regime: Output
    latency: Output
    events: Output
    signals: Output


def open_outputs(group: str, capacities: dict[str, int] | None = None) -> tuple[Outputs, list[Ring]]:
    """Create or attach every output ring of ``group`` as its producer; ``capacities``: short name -> capacity
    when created (shm/topology.RingSizing.output_capacities; default the OUTPUT_RINGS ones). A ring that exists
    keeps its own."""
    rings, parts = [], []
    for name in ORDER:
        dtype, capacity, _ = OUTPUT_RINGS[name]
        capacity = (capacities or {}).get(name, capacity)
        ring = Ring(ring_name(group, name), PRODUCER, dtype, capacity)
        rings.append(ring)
        data, header = ring.kernel_arrays()
        parts.append(Output(data, header, np.zeros(STAGING if name != "out.features" else 256, dtype=dtype)))
    return Outputs(np.zeros(8, np.int64), *parts), rings


@numba.njit(cache=True)
def staging_room(outputs) -> int:
    """Rows that every tick-driven staging array can still take (bars can take several per tick);
    0 when a rarely written output (features, regime, latency, events) is close to full."""
    counts = outputs.counts
    room = min(outputs.ticks.staging.size - counts[TICKS], outputs.signals.staging.size - counts[SIGNALS])
    room = min(room, outputs.bars1s.staging.size - counts[BARS1S], outputs.bars1m.staging.size - counts[BARS1M])
    if counts[FEATURES] + 2 > outputs.features.staging.size or counts[REGIME] + 2 > outputs.regime.staging.size:
        return 0
    if counts[LATENCY] + 128 > outputs.latency.staging.size or counts[EVENTS] + 32 > outputs.events.staging.size:
        return 0
    return room


@numba.njit(cache=True)
def nearly_full(outputs, rows) -> bool:
    """Whether some staging array has fewer than ``rows`` free rows (then ``flush_all``)."""
    return staging_room(outputs) < rows


@numba.njit(cache=True)
def push_staged(output, count) -> None:
    """Push the first ``count`` staged rows of ``output`` into its ring."""
    kernels.push(output.records, output.header, output.staging[:count], now_ns())


@numba.njit(cache=True)
def flush_all(outputs, histograms) -> int:
    """Stamp and publish everything staged; record tick-to-signal latencies. Returns the publish time."""
    published = now_ns()
    counts = outputs.counts
    n = counts[TICKS]
    if n:
        ticks = outputs.ticks.staging
        for i in range(n):
            ticks[i].ts_signal_ns = published
        push_staged(outputs.ticks, n)
    n = counts[SIGNALS]
    if n:
        signals = outputs.signals.staging
        for i in range(n):
            signal = signals[i]
            signal.ts_signal_ns = published
            latency.record(histograms, STAGE_TICK_TO_SIGNAL, signal.exchange_id, published - signal.ts_recv_ns)
            latency.record(histograms, STAGE_POP_TO_SIGNAL, signal.exchange_id, published - signal.ts_pop_ns)
        push_staged(outputs.signals, n)
    if counts[BARS1S]:
        push_staged(outputs.bars1s, counts[BARS1S])
    if counts[BARS1M]:
        push_staged(outputs.bars1m, counts[BARS1M])
    if counts[FEATURES]:
        push_staged(outputs.features, counts[FEATURES])
    if counts[REGIME]:
        push_staged(outputs.regime, counts[REGIME])
    if counts[LATENCY]:
        push_staged(outputs.latency, counts[LATENCY])
    if counts[EVENTS]:
        push_staged(outputs.events, counts[EVENTS])
    counts[:] = 0
    return published
