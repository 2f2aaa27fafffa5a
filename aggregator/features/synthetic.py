"""Synthetic 1-minute bars (BAR records) for tests and the bench: reproducible from a seed.

Kinds: ``normal`` (random walk, 0.1% per bar, 5% empty minutes), ``flat``
(normal, then constant price with empty bars: windows turn flat after a
history of movement), ``tiny`` (60,000 moving by 0.01 ticks), ``violent``
(5% per bar, +-30% jumps, volume bursts, price over orders of magnitude).
"""
from __future__ import annotations

import numpy as np

from shm.pipeline_records import BAR

KINDS = ("normal", "flat", "tiny", "violent")


def bars(kind: str, n: int, seed: int = 0, start: float = 100.0) -> np.ndarray:
    """``n`` consecutive bars of one symbol of the given kind."""
    rng = np.random.default_rng(seed)
    if kind == "tiny":
        close = 60_000.0 + 0.01 * np.cumsum(rng.integers(-1, 2, n))
        tick_hi = 0.01 * rng.integers(0, 2, n)
        tick_lo = 0.01 * rng.integers(0, 2, n)
        return _assemble(rng, close, tick_hi, tick_lo, 0.02, absolute=True)
    sigma = 0.05 if kind == "violent" else 1e-3
    steps = rng.normal(0.0, sigma, n)
    if kind == "violent":
        jumps = rng.random(n) < 0.02
        steps[jumps] += rng.choice([-0.3, 0.3], jumps.sum())
    close = start * np.exp(np.cumsum(steps))
    wick_hi = np.abs(rng.normal(0.0, sigma / 2, n))
    wick_lo = np.abs(rng.normal(0.0, sigma / 2, n))
    records = _assemble(rng, close, wick_hi, wick_lo, 0.05)
    if kind == "violent":
        burst = rng.random(n) < 0.01
        records["volume"][burst] *= 1e6
        records["buy_volume"][burst] *= 1e6
        records["sell_volume"][burst] *= 1e6
    if kind == "flat":
        _flatten(records, n // 2, n)
    return records


def _assemble(rng, close, up, down, empty_share, absolute=False) -> np.ndarray:
    n = len(close)
    out = np.zeros(n, BAR)
    out["interval_s"] = 60
    out["start_ns"] = 1_700_000_000_000_000_000 + 60_000_000_000 * np.arange(n, dtype=np.int64)
    open_ = np.concatenate([[close[0]], close[:-1]])
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    out["open"] = open_
    out["close"] = close
    out["high"] = top + up if absolute else top * (1.0 + up)
    out["low"] = bottom - down if absolute else bottom * (1.0 - down)
    volume = rng.lognormal(3.0, 1.0, n)
    buy_share = rng.random(n)
    out["volume"] = volume
    out["buy_volume"] = volume * buy_share
    out["sell_volume"] = volume - out["buy_volume"]
    out["vwap"] = out["low"] + (out["high"] - out["low"]) * rng.random(n)
    out["count"] = 1 + rng.poisson(20.0, n)
    empty = np.flatnonzero(rng.random(n) < empty_share)
    for j in empty[empty > 0]:
        _empty(out, j, out["close"][j - 1])
    return out


def _empty(records, j, price) -> None:
    """Bar j as the aggregator sends an empty interval: OHLC at the last close, no volume."""
    for field in ("open", "high", "low", "close", "vwap"):
        records[field][j] = price
    for field in ("volume", "buy_volume", "sell_volume", "count"):
        records[field][j] = 0


def _flatten(records, begin, end) -> None:
    price = records["close"][begin - 1]
    for j in range(begin, end):
        _empty(records, j, price)
    # volume comes back on the flat price in the second half of the flat stretch
    later = np.arange((begin + end) // 2, end)
    records["volume"][later] = 5.0
    records["buy_volume"][later] = 2.0
    records["sell_volume"][later] = 3.0
    records["count"][later] = 3
