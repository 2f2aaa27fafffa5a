"""Which rings a process group has: names, record dtypes, default capacities.

::

  feed EXCHANGE  --> <exchange>          (TICK)    --> aggregator
                 --> <exchange>.events   (EVENT)   --> writer
  aggregator     --> out.ticks           (STAMPED_TICK)
                 --> out.bars1s, out.bars1m (BAR)
                 --> out.features        (FEATURE_ROW)
                 --> out.regime          (REGIME)
                 --> out.latency         (LATENCY)
                 --> out.events          (EVENT)   --> writer
                 --> signals             (SIGNAL)  --> downstream strategies
"""
from __future__ import annotations

import numpy as np

from shm.pipeline_records import BAR, EVENT, FEATURE_ROW, LATENCY, REGIME, SIGNAL, STAMPED_TICK

TICK_RING_CAPACITY = 1 << 18  # per exchange: ~3 s of a 80k ticks/s burst, 16 MiB
EVENT_RING_CAPACITY = 1 << 12

# aggregator output ring -> (dtype, capacity)
OUTPUT_RINGS: dict[str, tuple[np.dtype, int]] = {
    "out.ticks": (STAMPED_TICK, 1 << 20),
    "out.bars1s": (BAR, 1 << 16),
    "out.bars1m": (BAR, 1 << 14),
    "out.features": (FEATURE_ROW, 1 << 12),  # 11 KiB records: 46 MiB
    "out.regime": (REGIME, 1 << 14),
    "out.latency": (LATENCY, 1 << 14),
    "out.events": (EVENT, 1 << 12),
}
SIGNAL_RING = ("signals", SIGNAL, 1 << 16)


def tick_ring(exchange: str) -> str:
    """Short name of an exchange's tick ring (``ring_name(group, tick_ring(x))``)."""
    return exchange


def event_ring(exchange: str) -> str:
    return f"{exchange}.events"
