"""The feature catalogue: column index <-> name, versioned (CATALOGUE_VERSION in layout.py).

Names are ``<family>_<params>``: windowed families take one window in bars
(``rsi_14``), MACD its fast_slow_signal periods (``macd_12_26_9``), OBV none.
Order: each family of layout.FAMILIES over all WINDOWS, then the MACD sets
(macd, macdsig, macdhist per set), obv, then cci over CCI_WINDOWS.
"""
from __future__ import annotations

from functools import lru_cache

from aggregator.features.layout import (
    CATALOGUE_VERSION, CCI_WINDOWS, FAMILIES, MACD_KINDS, MACD_SETS, WINDOWS,
)
from shm.pipeline_records import FEATURE_COUNT

__all__ = ["CATALOGUE_VERSION", "FEATURE_COUNT", "names", "index_of"]


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """All FEATURE_COUNT names in column order."""
    out = [f"{family}_{w}" for family in FAMILIES for w in WINDOWS.tolist()]
    for fast, slow, signal in MACD_SETS.tolist():
        out.extend(f"{kind}_{fast}_{slow}_{signal}" for kind in MACD_KINDS)
    out.append("obv")
    out.extend(f"cci_{w}" for w in CCI_WINDOWS.tolist())
    assert len(out) == FEATURE_COUNT and len(set(out)) == FEATURE_COUNT
    return tuple(out)


def index_of(name: str) -> int:
    """Column of feature ``name``; KeyError naming it if the catalogue has no such feature."""
    try:
        return _indices()[name]
    except KeyError:
        raise KeyError(f"no feature named {name!r} in catalogue version {CATALOGUE_VERSION}") from None


@lru_cache(maxsize=1)
def _indices() -> dict[str, int]:
    return {name: i for i, name in enumerate(names())}
