"""Everything the aggregator kernel keeps between batches, as one NamedTuple of arrays."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from aggregator import latency
from aggregator.bars import BarBook, new_book
from aggregator.features.state import FeatureState, new_state
from aggregator.regime import NORMAL, new_regime_state
from shm.pipeline_records import BAR, FEATURE_COUNT
from shm.symbols import DEFAULT_CAPACITY

# live[slot, L_*]: tick-level state behind the signal
L_EMA_FAST, L_EMA_SLOW, L_SIGNED_VOLUME, L_BUY_VOLUME, L_SELL_VOLUME, L_REGIME, L_TICKS = range(7)
# params (float64)
P_ALPHA_FAST, P_ALPHA_SLOW, P_ALPHA_VOLUME = range(3)
# clock[...] (int64 ns)
C_SECOND, C_LAST_SWEEP, C_SWEEP_EVERY = range(3)
# counters[...]
K_TICKS, K_LATE, K_NO_SLOT, K_FEATURE_ROWS, K_BARS1S, K_BARS1M, K_PENDING_MAX = range(7)
PENDING_CAPACITY = 1 << 14


class AggState(NamedTuple):
    slot_of: np.ndarray  # int32 (directory capacity + 1,): symbol id -> slot, -1
    symbol_of: np.ndarray  # int64 (slots,)
    exchange_of: np.ndarray  # int64 (slots,)
    n_slots: np.ndarray  # int64 (1,)
    bars1s: BarBook
    bars1m: BarBook
    live: np.ndarray  # float64 (slots, 7)
    features: FeatureState
    regime: np.ndarray  # aggregator/regime.py state
    pending: np.ndarray  # BAR (PENDING_CAPACITY,): closed 1 min bars waiting for their features
    pending_ends: np.ndarray  # int64 (2,): head, tail (counts since start)
    feature_row: np.ndarray  # float64 (FEATURE_COUNT,)
    histograms: np.ndarray  # int64 latency histograms (aggregator/latency.py)
    late: np.ndarray  # int64 (16,): late ticks per exchange id, cumulative
    late_reported: np.ndarray  # int64 (16,)
    clock: np.ndarray  # int64 (3,)
    params: np.ndarray  # float64 (3,)
    counters: np.ndarray  # int64 (8,)


def ema_alpha(ticks: float) -> float:
    return 2.0 / (ticks + 1.0)


def new_agg_state(max_symbols: int = 4096, lateness_ms: float = 250.0, fill_minutes: int = 60,
                  ema_fast_ticks: float = 10, ema_slow_ticks: float = 100, volume_ticks: float = 50,
                  sweep_ms: float = 10.0) -> AggState:
    """State for up to ``max_symbols`` symbols (about 50 KB each, mostly feature history)."""
    if max_symbols < 1:
        raise ValueError(f"max_symbols must be at least 1, got {max_symbols}")
    lateness_ns = int(lateness_ms * 1e6)
    live = np.zeros((max_symbols, 7))
    live[:, L_REGIME] = NORMAL
    return AggState(
        slot_of=np.full(DEFAULT_CAPACITY + 1, -1, np.int32),
        symbol_of=np.zeros(max_symbols, np.int64),
        exchange_of=np.zeros(max_symbols, np.int64),
        n_slots=np.zeros(1, np.int64),
        bars1s=new_book(max_symbols, 1_000_000_000, lateness_ns, 0),
        bars1m=new_book(max_symbols, 60_000_000_000, lateness_ns, fill_minutes),
        live=live,
        features=new_state(max_symbols),
        regime=new_regime_state(max_symbols),
        pending=np.zeros(PENDING_CAPACITY, BAR),
        pending_ends=np.zeros(2, np.int64),
        feature_row=np.zeros(FEATURE_COUNT),
        histograms=latency.new_histograms(),
        late=np.zeros(16, np.int64),
        late_reported=np.zeros(16, np.int64),
        clock=np.array([0, 0, int(sweep_ms * 1e6)], np.int64),
        params=np.array([ema_alpha(ema_fast_ticks), ema_alpha(ema_slow_ticks), ema_alpha(volume_ticks)]),
        counters=np.zeros(8, np.int64),
    )
