"""Stores the writer inserts into: a ClickHouse server (clickhouse.py) or embedded chDB (chdb_store.py).

Both sit behind ``Store`` (base.py); ``open_store(url)`` picks one. The chDB
library (about 270 MB of RSS once imported) is imported only by chdb_store.py,
and only when a chDB store is opened.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from store.url import StoreURL, configured, parse, redact

if TYPE_CHECKING:
    from store.base import Store

_FROM_BASE = ("Store", "StoreError", "StoreUnavailable")


def __getattr__(name: str):
    """``Store``, ``StoreError``, ``StoreUnavailable`` from base.py on first use: base.py imports NumPy (~10 MB),
    and `tickagg run` only parses a store URL (url.py), so it stays without it."""
    if name in _FROM_BASE:
        from store import base

        return getattr(base, name)
    raise AttributeError(f"module 'store' has no attribute {name!r}")


def open_store(url: StoreURL | str) -> Store:
    """A store for ``url`` (not yet connected: call ``connect``)."""
    if isinstance(url, str):
        url = parse(url)
    if url.kind == "chdb":
        from store.chdb_store import ChdbStore

        return ChdbStore(url)
    from store.clickhouse import ClickHouseStore

    return ClickHouseStore(url)


__all__ = ["Store", "StoreError", "StoreUnavailable", "StoreURL", "configured", "open_store", "parse", "redact"]
