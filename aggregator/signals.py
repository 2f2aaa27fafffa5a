"""The per-tick signal, in Numba: EMAs, signed volume, trade imbalance, bar VWAP and regime per symbol.

Each tick folds into its symbol's ``LIVE`` record and writes one SIGNAL row
(shm/pipeline_records.py) for the ``signals`` ring: what a downstream
strategy reads within microseconds of the tick. The regime is the one the
symbol's last closed 1 min bar set (aggregator/regime.py, via the fold).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from aggregator.bars import NEWER
from aggregator.regime import NORMAL

# live[slot]: one 56-byte record per symbol slot, so a tick's state sits together (one or two cache lines)
#
#  0          8          16              24           32            40       48      56
#  +----------+----------+---------------+------------+-------------+--------+-------+
#  | ema_fast | ema_slow | signed_volume | buy_volume | sell_volume | regime | ticks |
#  +----------+----------+---------------+------------+-------------+--------+-------+
#   f8 price EMAs         f8 volume EMAs                              i8       i8
LIVE = np.dtype([
    ("ema_fast", "<f8"),
    ("ema_slow", "<f8"),
    ("signed_volume", "<f8"),  # EMA of side * size
    ("buy_volume", "<f8"),  # EMA of taker-buy size (0 for other ticks)
    ("sell_volume", "<f8"),  # EMA of taker-sell size
    ("regime", "<i8"),  # CALM, NORMAL or TURBULENT (aggregator/regime.py)
    ("ticks", "<i8"),  # ticks seen: the first one seeds the price EMAs
])


class Smoothing(NamedTuple):
    """EMA weights per tick, 2 / (ticks + 1) for an EMA over that many ticks."""

    fast: float  # price EMA, fast
    slow: float  # price EMA, slow
    volume: float  # the volume EMAs


def ema_alpha(ticks: float) -> float:
    return 2.0 / (ticks + 1.0)


def new_smoothing(fast_ticks: float, slow_ticks: float, volume_ticks: float) -> Smoothing:
    return Smoothing(ema_alpha(fast_ticks), ema_alpha(slow_ticks), ema_alpha(volume_ticks))


def new_live(slots: int) -> np.ndarray:
    """Live signal state of ``slots`` symbols: nothing seen, regime normal."""
    live = np.zeros(slots, LIVE)
    live["regime"] = NORMAL
    return live


@numba.njit(cache=True, inline="always")
def emit(out, live, bar_values, smoothing, slot, tick, pop_ns) -> None:
    """Fold ``tick`` into ``live[slot]`` and write its signal into the SIGNAL record ``out``.

    Takes arrays and a record, not the aggregator's state tuple (per tick, a tuple
    of ~50 arrays costs ~100 atomic refcount updates); inlined into the fold.
    ``bar_values``: the 1 s BarBook's values, for the VWAP of the bar in progress.
    """
    entry = live[slot]  # a record: direct field access, no sub-array view
    price, size, side = tick.price, tick.size, tick.side
    if entry.ticks == 0:
        entry.ema_fast = price
        entry.ema_slow = price
    else:
        entry.ema_fast += smoothing.fast * (price - entry.ema_fast)
        entry.ema_slow += smoothing.slow * (price - entry.ema_slow)
    entry.ticks += 1
    entry.signed_volume += smoothing.volume * (side * size - entry.signed_volume)
    entry.buy_volume += smoothing.volume * ((size if side > 0 else 0.0) - entry.buy_volume)
    entry.sell_volume += smoothing.volume * ((size if side < 0 else 0.0) - entry.sell_volume)
    traded = entry.buy_volume + entry.sell_volume
    out.ts_recv_ns = tick.ts_recv_ns
    out.ts_pop_ns = pop_ns
    out.symbol_id = tick.symbol_id
    out.exchange_id = tick.exchange_id
    out.regime = np.int8(entry.regime)
    out.side = side
    out.price = price
    out.ema_fast = entry.ema_fast
    out.ema_slow = entry.ema_slow
    out.signed_volume_ema = entry.signed_volume
    out.trade_imbalance = (entry.buy_volume - entry.sell_volume) / traded if traded > 0.0 else np.nan
    bar = bar_values[slot, NEWER]
    out.bar_vwap = bar.pv / bar.volume if bar.volume > 0.0 else np.nan
