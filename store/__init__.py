"""Stores the writer inserts into: a ClickHouse server (clickhouse.py) or embedded chDB (chdb_store.py).

Both sit behind ``Store`` (base.py); ``open_store(url)`` picks one. The chDB
library (about 270 MB of RSS once imported) is imported only by chdb_store.py,
and only when a chDB store is opened.
"""
from __future__ import annotations

from store.base import Store, StoreError, StoreUnavailable
from store.url import StoreURL, configured, parse, redact


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
