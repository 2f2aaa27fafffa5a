"""Everything the aggregator kernel keeps between batches: one NamedTuple of arrays and named tuples.

Kernels unpack the fields they need once per batch and pass arrays to per-tick
helpers (a tuple of ~50 arrays passed per call costs ~100 atomic refcount updates).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from aggregator import latency
from aggregator.bars import BarBook, new_book
from aggregator.features.state import FeatureState, new_state
from aggregator.regime import new_regime_state
from aggregator.signals import Smoothing, new_live, new_smoothing
from shm.pipeline_records import BAR, FEATURE_COUNT
from shm.symbols import DEFAULT_CAPACITY

# clock[C_*] (int64 ns), written by housekeeping
# the second latency rows were last written for; the last bar sweep; the earliest wall-clock close it left (0: a tick
# came since, sweep again)
C_SECOND, C_LAST_SWEEP, C_NEXT_DUE = range(3)
# counters[K_*] (int64, cumulative), published to out.ticks' metrics block by aggregator/main.py
K_TICKS, K_LATE, K_NO_SLOT, K_FEATURE_ROWS, K_BARS1S, K_BARS1M, K_PENDING_MAX = range(7)
PENDING_CAPACITY = 1 << 14
EXCHANGE_IDS = 16  # late[exchange_id & 15]: exchange ids 0..15
HEAD, TAIL = 0, 1  # FeatureQueue.ends[*]: counts since start; TAIL - HEAD bars wait


class FeatureQueue(NamedTuple):
    """Closed 1 min bars waiting for their feature rows, a ring of BAR records."""

    bars: np.ndarray  # BAR (PENDING_CAPACITY,): bar number n sits at n % size
    ends: np.ndarray  # int64 (2,): [HEAD] next to compute, [TAIL] next to queue


class AggState(NamedTuple):
    slot_of: np.ndarray  # int32 (directory capacity + 1,): symbol id -> slot, -1
    symbol_of: np.ndarray  # int64 (slots,)
    exchange_of: np.ndarray  # int64 (slots,)
    n_slots: np.ndarray  # int64 (1,)
    bars1s: BarBook
    bars1m: BarBook
    live: np.ndarray  # LIVE (slots,): per-symbol state behind the signal (aggregator/signals.py)
    features: FeatureState
    regime: np.ndarray  # aggregator/regime.py state
    pending: FeatureQueue
    feature_row: np.ndarray  # float64 (FEATURE_COUNT,)
    histograms: np.ndarray  # int64 latency histograms (aggregator/latency.py), this second's
    latency_totals: np.ndarray  # the same, every second summarised since start (published by aggregator/main.py)
    late: np.ndarray  # int64 (EXCHANGE_IDS,): late ticks per exchange id, cumulative
    late_reported: np.ndarray  # int64 (EXCHANGE_IDS,): late[] as of the last late-tick events
    clock: np.ndarray  # int64 (3,): C_*
    sweep_every_ns: int  # wall-clock bar closes are looked for this often
    smoothing: Smoothing
    counters: np.ndarray  # int64 (8,): K_*


def new_agg_state(max_symbols: int = 4096, lateness_ms: float = 250.0, fill_minutes: int = 60,
                  ema_fast_ticks: float = 10, ema_slow_ticks: float = 100, volume_ticks: float = 50,
                  sweep_ms: float = 10.0) -> AggState:
    """State for up to ``max_symbols`` symbols (about 50 KB each, mostly feature history)."""
    if max_symbols < 1:
        raise ValueError(f"max_symbols must be at least 1, got {max_symbols}")
    lateness_ns = int(lateness_ms * 1e6)
    return AggState(
        slot_of=np.full(DEFAULT_CAPACITY + 1, -1, np.int32),
        symbol_of=np.zeros(max_symbols, np.int64),
        exchange_of=np.zeros(max_symbols, np.int64),
        n_slots=np.zeros(1, np.int64),
        bars1s=new_book(max_symbols, 1_000_000_000, lateness_ns, 0),
        bars1m=new_book(max_symbols, 60_000_000_000, lateness_ns, fill_minutes),
        live=new_live(max_symbols),
        features=new_state(max_symbols),
        regime=new_regime_state(max_symbols),
        pending=FeatureQueue(np.zeros(PENDING_CAPACITY, BAR), np.zeros(2, np.int64)),
        feature_row=np.zeros(FEATURE_COUNT),
        histograms=latency.new_histograms(),
        latency_totals=latency.new_histograms(),
        late=np.zeros(EXCHANGE_IDS, np.int64),
        late_reported=np.zeros(EXCHANGE_IDS, np.int64),
        clock=np.zeros(3, np.int64),
        sweep_every_ns=int(sweep_ms * 1e6),
        smoothing=new_smoothing(ema_fast_ticks, ema_slow_ticks, volume_ticks),
        counters=np.zeros(8, np.int64),
    )
