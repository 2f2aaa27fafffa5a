"""``update``: one closed bar of one symbol in, its FEATURE_COUNT feature values out.

The aggregator's Numba kernel calls it at every 1-minute bar close, and
``tickagg features`` calls it for every CSV row: one code path. Order: accept
the bar (bar.py), advance the state (window sums, extremes, recursions), then
let each family module write its columns.
"""
from __future__ import annotations

import math

import numba

from aggregator.features import (
    bands, bar, ema, extremes, macd, momentum, moving, oscillators, ranges, rolling, stats,
    trend, volatility, wilder,
)
from aggregator.features import volume as volume_family


@numba.njit(cache=True, nogil=True)
def update(state, slot, open, high, low, close, volume, buy_volume, sell_volume, vwap, count, out_values):  # noqa: A002
    """Update symbol ``slot`` with one closed bar and write its features into ``out_values``.

    ``out_values``: float64[FEATURE_COUNT], in catalogue order. A first bar
    without a valid close leaves the state untouched and writes NaN.
    """
    if not bar.accept(state, slot, open, high, low, close, volume, buy_volume, sell_volume, vwap, count):
        out_values[:] = math.nan
        return
    rolling.update(state, slot)
    extremes.update(state, slot)
    ema.update(state, slot)
    wilder.update(state, slot)
    macd.update(state, slot)
    volume_family.update_obv(state, slot)
    moving.write(state, slot, out_values)
    stats.write(state, slot, out_values)
    bands.write(state, slot, out_values)
    volatility.write(state, slot, out_values)
    oscillators.write(state, slot, out_values)
    momentum.write(state, slot, out_values)
    ranges.write(state, slot, out_values)
    volume_family.write(state, slot, out_values)
    trend.write(state, slot, out_values)
    macd.write(state, slot, out_values)
