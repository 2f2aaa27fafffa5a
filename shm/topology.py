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

Capacities are a memory decision: a ring's pages count in the PSS of the
processes that map it once touched, and a ring that wraps touches them all.
The two rings that grow with the tick rate are sized by seconds of buffer at
a configured peak rate (``RingSizing``, the deployment file's ``[rings]``):
a feed's tick ring holds ``buffer_seconds`` at ``venue_peak_rate`` (it must
cover a warm aggregator restart: 2.3-2.6 CPU-s from exec to reading again
with the kernels cached (3-9 s wall on a 2-core machine at load 15), plus
systemd's 1 s RestartSec; 4 s at 2x a venue's share of 80k/s is 8 s at that
share. No default covers a cold Numba compile, 100-300 s: warm the cache
before an upgrade, `python -m aggregator.main`), ``out.ticks`` holds ``output_seconds`` at
``peak_rate`` (the writer's batch cycles, a slow insert, a restart: the writer
spills when the store is down; `tickagg run` starts the feeds only once the
writer reads out.ticks, tickagg/start_gate.py, so its first start needs no room). The others have fixed capacities: their rates do not follow the
tick rate (one bar per symbol and second, one feature row per symbol and
minute: ``out.features`` must take a whole minute close of 2,378 symbols).
A ring that exists keeps the capacity it was created with (shm/ring.py).
The aggregator gives back the pages of out.ticks and out.features its writer
has stored (aggregator/stored_pages.py), so those two cost their capacity only
while the writer lags.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from shm.pipeline_records import BAR, EVENT, FEATURE_ROW, LATENCY, REGIME, SIGNAL, STAMPED_TICK
from shm.records import TICK
# the feed's rings without NumPy (a feed must not import it: issue 12), re-exported
from shm.ring_sizing import (EVENT_RING_CAPACITY, MAX_DERIVED_CAPACITY, MIN_CAPACITY, TICK_RING_CAPACITY,  # noqa: F401
                             RingSizing, capacity_for, event_ring, tick_ring)


class RingSpec(NamedTuple):
    """One kind of ring: its records, its capacity when created, the store table its records go to."""

    dtype: np.dtype
    capacity: int
    table: str | None  # None: the writer does not read it


TICK_RING = RingSpec(TICK, TICK_RING_CAPACITY, None)  # per exchange: the capacity at the default RingSizing, 4 MiB
EVENT_RING = RingSpec(EVENT, EVENT_RING_CAPACITY, "events")  # per exchange

# the aggregator's output rings, by short name, in the order it opens and indexes them
OUTPUT_RINGS: dict[str, RingSpec] = {
    "out.ticks": RingSpec(STAMPED_TICK, 1 << 19, "ticks"),  # the capacity at the default RingSizing, 44 MiB
    "out.bars1s": RingSpec(BAR, 1 << 16, "bars_1s"),
    "out.bars1m": RingSpec(BAR, 1 << 14, "bars_1m"),
    "out.features": RingSpec(FEATURE_ROW, 1 << 12, "features"),  # 11 KiB records: 46 MiB
    "out.regime": RingSpec(REGIME, 1 << 14, "regime"),
    "out.latency": RingSpec(LATENCY, 1 << 14, "latency"),
    "out.events": RingSpec(EVENT, 1 << 12, "events"),
    "signals": RingSpec(SIGNAL, 1 << 16, None),
}


def ring_bytes(dtype: np.dtype, capacity: int) -> int:
    """What a ring costs once every page is touched (its header is one 4 KiB page)."""
    from shm.header import HEADER_BYTES

    return HEADER_BYTES + capacity * np.dtype(dtype).itemsize


def stored_ring(short_name: str) -> RingSpec | None:
    """The spec of a ring the writer stores: an output ring with a table, or a feed's event ring (None: not stored)."""
    spec = OUTPUT_RINGS.get(short_name)
    if spec is None and short_name.endswith(".events"):
        spec = EVENT_RING
    return spec if spec is not None and spec.table is not None else None
