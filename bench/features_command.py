"""`tickagg bench features`: one 1-minute bar close of every symbol through the feature kernel.

Synthetic random-walk bars for N symbols; every symbol is first warmed past
the longest window (so no warm-up shortcut is timed), then each repeat times
one call that updates all symbols' FEATURE_COUNT features (the aggregator's
bar-close work) on this one core. Compile / cache-load time is reported
apart (``compile_cached`` says whether it was a load from Numba's cache; run with
NUMBA_CACHE_DIR set to an empty directory for a cold compile). The regime
update of all symbols is timed the same way.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from tickagg.args import non_negative_int, positive_int

HELP = "feature kernel: ms to update all 1,400 features of 2,378 symbols at one bar close; regime update cost"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--symbols", type=positive_int, default=2378, help="symbols updated per bar close (default 2378)")
    parser.add_argument("--warmup-bars", type=non_negative_int, default=300, help="bars fed before timing (default 300)")
    parser.add_argument("--repeats", type=positive_int, default=21, help="timed bar closes; the median is reported (default 21)")
    parser.add_argument("--seed", type=non_negative_int, default=1, help="random seed of the synthetic bars")


def run(args: argparse.Namespace) -> int:
    import orjson

    result = measure(args.symbols, args.warmup_bars, args.repeats, args.seed)
    if args.json:
        print(orjson.dumps(result).decode())
        return 0
    print(f"{result['symbols']} symbols x {result['features']} features, catalogue v{result['catalogue_version']}")
    how = "loaded from Numba's cache" if result["compile_cached"] else "compiled"
    print(f"kernel {how} in {result['compile_s']:.2f} s (regime {result['regime_compile_s']:.2f} s)")
    print(
        f"one bar close, all symbols: median {result['ms_per_bar_all_symbols']:.2f} ms "
        f"(min {result['ms_min']:.2f}, max {result['ms_max']:.2f}; {result['ns_per_symbol']:.0f} ns per symbol)"
    )
    print(f"regime update, all symbols: median {result['regime_ms_per_bar_all_symbols']:.3f} ms")
    print(f"state: {result['state_mb']:.0f} MB; load average at start {result['loadavg_1m']:.2f}")
    return 0


def measure(n_symbols: int, warmup_bars: int, repeats: int, seed: int) -> dict:
    """Run the benchmark; figures in a dict (see the module docstring)."""
    import numpy as np

    from aggregator import regime
    from aggregator.features import CATALOGUE_VERSION, FEATURE_COUNT, batch, new_state
    from shm.pipeline_records import BAR

    loadavg = os.getloadavg()[0]
    rng = np.random.default_rng(seed)
    slots = np.arange(n_symbols, dtype=np.int64)
    closes = 10.0 ** rng.uniform(-2, 5, n_symbols)  # prices from 0.01 to 100,000
    bars = np.zeros(n_symbols, BAR)
    out = np.empty((n_symbols, FEATURE_COUNT))

    def next_bars() -> None:
        opens = closes.copy()
        closes[:] = opens * np.exp(rng.normal(0.0, 1e-3, n_symbols))
        top, bottom = np.maximum(opens, closes), np.minimum(opens, closes)
        bars["open"], bars["close"] = opens, closes
        bars["high"] = top * (1.0 + np.abs(rng.normal(0.0, 5e-4, n_symbols)))
        bars["low"] = bottom * (1.0 - np.abs(rng.normal(0.0, 5e-4, n_symbols)))
        bars["volume"] = rng.lognormal(3.0, 1.0, n_symbols)
        bars["buy_volume"] = bars["volume"] * rng.random(n_symbols)
        bars["sell_volume"] = bars["volume"] - bars["buy_volume"]
        bars["vwap"] = (bars["high"] + bars["low"]) / 2.0
        bars["count"] = 1 + rng.poisson(20.0, n_symbols)

    next_bars()
    started = time.perf_counter()
    batch.update_records(new_state(1), bars[:1], slots[:1], out[:1])
    compile_s = time.perf_counter() - started
    compile_cached = sum(batch.update_records.stats.cache_hits.values()) > 0
    regimes = np.empty(n_symbols, np.int64)
    scores = np.empty(n_symbols)
    vols = np.empty(n_symbols)
    started = time.perf_counter()
    regime.update_regime_all(regime.new_regime_state(1), slots[:1], closes[:1], regimes, scores, vols)
    regime_compile_s = time.perf_counter() - started

    state = new_state(n_symbols)
    regime_state = regime.new_regime_state(n_symbols)
    for _ in range(warmup_bars):
        next_bars()
        batch.update_records(state, bars, slots, out)
        regime.update_regime_all(regime_state, slots, closes, regimes, scores, vols)
    feature_ms, regime_ms = [], []
    for _ in range(repeats):
        next_bars()
        started = time.perf_counter_ns()
        batch.update_records(state, bars, slots, out)
        feature_ms.append((time.perf_counter_ns() - started) / 1e6)
        started = time.perf_counter_ns()
        regime.update_regime_all(regime_state, slots, closes, regimes, scores, vols)
        regime_ms.append((time.perf_counter_ns() - started) / 1e6)
    median = statistics.median(feature_ms)
    return {
        "symbols": n_symbols,
        "features": FEATURE_COUNT,
        "catalogue_version": CATALOGUE_VERSION,
        "ms_per_bar_all_symbols": round(median, 3),
        "ms_min": round(min(feature_ms), 3),
        "ms_max": round(max(feature_ms), 3),
        "ns_per_symbol": round(median * 1e6 / n_symbols, 1),
        "repeats": repeats,
        "warmup_bars": warmup_bars,
        "compile_s": round(compile_s, 3),
        "compile_cached": compile_cached,  # true: compile_s is a load from Numba's on-disk cache
        "regime_ms_per_bar_all_symbols": round(statistics.median(regime_ms), 4),
        "regime_compile_s": round(regime_compile_s, 3),
        "state_mb": round(sum(a.nbytes for a in state) / 2**20, 1),
        "nan_share": round(float(np.isnan(out).mean()), 4),
        "loadavg_1m": round(loadavg, 2),
    }
