"""`tickagg dashboard` on a ClickHouse 18.16 server (the session's): every stored panel over HTTP, read-only."""
from __future__ import annotations

import os
import time
import uuid

import pytest

from dashboard_process import get, start_dashboard, stop
from dashboard_rows import SYMBOL_ID, insert_sample
from store import open_store
from store.url import PASSWORD_ENV, for_child, parse
from store.panels import PANELS
from tickagg.dashboard.sources import ClickHouseSource, SourceError


@pytest.fixture(scope="module")
def server_store(clickhouse_server):
    url = clickhouse_server.url(database=f"t{uuid.uuid4().hex[:10]}")
    store = open_store(url)
    store.connect()
    store.setup(["f0"], 0)
    insert_sample(store, int(time.time()))
    store.close()
    return url


def test_every_stored_panel_over_http_from_clickhouse_18_16(server_store, tmp_path):
    shown, secret = for_child(server_store)  # the password in the environment, as the writer gets it
    os.environ[PASSWORD_ENV] = secret[PASSWORD_ENV]
    try:
        process, base = start_dashboard("--store", shown, "--group", "nogroup", "--state-dir", str(tmp_path))
    finally:
        del os.environ[PASSWORD_ENV]
    try:
        assert "(read-only)" in get(base + "/api/panels")[1]["store"]
        assert get(base + "/api/symbols")[1]["symbols"] == [{"symbol_id": SYMBOL_ID, "exchange": "binance", "symbol": "BTCUSDT"}]
        empty = {}
        for name, panel in PANELS.items():
            code, body = get(f"{base}/api/panel/{name}?range=900" + (f"&symbol_id={SYMBOL_ID}" if panel.needs_symbol else ""))
            assert code == 200, body
            if not body["points"]:
                empty[name] = body
        assert empty == {}
    finally:
        stop(process)


def test_the_dashboards_connection_cannot_write(server_store):
    source = ClickHouseSource(parse(server_store))
    try:
        with pytest.raises(SourceError, match="(?i)readonly"):
            source._rows(f"CREATE TABLE {source.url.database}.x (a UInt8) ENGINE = Memory")
        with pytest.raises(SourceError, match="(?i)readonly"):
            source._rows(f"INSERT INTO {source.url.database}.exchanges VALUES (99, 'x')")
    finally:
        source.close()
