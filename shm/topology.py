"""Which rings a process group has: names, record dtypes, default capacities, the tables they are stored in.

The one list of rings: the aggregator opens its outputs in ``OUTPUT_RINGS``
order (aggregator/outputs.py) and the writer stores each ring that names a
table (store/tables.py)::

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

from typing import NamedTuple

import numpy as np

from shm.pipeline_records import BAR, EVENT, FEATURE_ROW, LATENCY, REGIME, SIGNAL, STAMPED_TICK
from shm.records import TICK


class RingSpec(NamedTuple):
    """One kind of ring: its records, its capacity when created, the store table its records go to."""

    dtype: np.dtype
    capacity: int
    table: str | None  # None: the writer does not read it


TICK_RING = RingSpec(TICK, 1 << 18, None)  # per exchange: ~3 s of a 80k ticks/s burst, 16 MiB
EVENT_RING = RingSpec(EVENT, 1 << 12, "events")  # per exchange
TICK_RING_CAPACITY = TICK_RING.capacity
EVENT_RING_CAPACITY = EVENT_RING.capacity

# the aggregator's output rings, by short name, in the order it opens and indexes them
OUTPUT_RINGS: dict[str, RingSpec] = {
    "out.ticks": RingSpec(STAMPED_TICK, 1 << 20, "ticks"),
    "out.bars1s": RingSpec(BAR, 1 << 16, "bars_1s"),
    "out.bars1m": RingSpec(BAR, 1 << 14, "bars_1m"),
    "out.features": RingSpec(FEATURE_ROW, 1 << 12, "features"),  # 11 KiB records: 46 MiB
    "out.regime": RingSpec(REGIME, 1 << 14, "regime"),
    "out.latency": RingSpec(LATENCY, 1 << 14, "latency"),
    "out.events": RingSpec(EVENT, 1 << 12, "events"),
    "signals": RingSpec(SIGNAL, 1 << 16, None),
}


def tick_ring(exchange: str) -> str:
    """Short name of an exchange's tick ring (``ring_name(group, tick_ring(x))``)."""
    return exchange


def event_ring(exchange: str) -> str:
    return f"{exchange}.events"


def stored_ring(short_name: str) -> RingSpec | None:
    """The spec of a ring the writer stores: an output ring with a table, or a feed's event ring (None: not stored)."""
    spec = OUTPUT_RINGS.get(short_name)
    if spec is None and short_name.endswith(".events"):
        spec = EVENT_RING
    return spec if spec is not None and spec.table is not None else None
