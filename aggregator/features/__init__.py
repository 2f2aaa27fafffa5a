"""Numba feature kernels: FEATURE_COUNT features per symbol per 1-minute bar, updated in O(1).

Public API:
- ``new_state(n_symbols) -> FeatureState``: all symbols' state, preallocated arrays;
- ``update(state, slot, open, high, low, close, volume, buy_volume, sell_volume,
  vwap, count, out_values)``: @njit, callable from other @njit code;
- ``names()``, ``CATALOGUE_VERSION``: the catalogue (catalogue.py);
- ``batch.update_records`` / ``batch.compute_records``: the same kernel over many BAR records;
- ``synthetic.bars``: reproducible synthetic bars (tests, bench).

One module per idea: layout (every index), state, bar (input rules), rolling
(window sums, incremental), moments (central moments in/out), exact (exact
recomputation), extremes (rolling max/min), ema / wilder / macd (recursions);
then the families writing columns: moving, stats, bands, volatility,
oscillators, momentum, ranges, volume, trend; catalogue (names), kernel
(``update``), batch, csv_bars (``tickagg features`` input), synthetic.

Empty intervals (count == 0, OHLC = previous close, volume 0) are ordinary
bars: windows count minutes, so an empty minute adds a zero return, zero range
and zero volume (bar.py has the input rules).

Numba's on-disk cache is keyed by each function's own file: after editing a
module here, delete the ``__pycache__/*.nbi|*.nbc`` files of the package (and of
callers such as the aggregator kernel) so no caller keeps inlined old code.
"""
from __future__ import annotations

import importlib

# Resolved on first use (PEP 562), so ``from aggregator.features import catalogue``
# (the writer, for names only) does not import Numba and compile nothing.
_LAZY = {
    "batch": "aggregator.features.batch",
    "synthetic": "aggregator.features.synthetic",
    "CATALOGUE_VERSION": "aggregator.features.catalogue",
    "FEATURE_COUNT": "aggregator.features.catalogue",
    "index_of": "aggregator.features.catalogue",
    "names": "aggregator.features.catalogue",
    "update": "aggregator.features.kernel",
    "FeatureState": "aggregator.features.state",
    "new_state": "aggregator.features.state",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'aggregator.features' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value
