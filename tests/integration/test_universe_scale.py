"""The whole universe: 2,378 symbols over the ten venues, configured by one TOML file whose venues ask for filters
resolved from each venue's instrument list (the simulator's REST answers), run by `tickagg run --simulate` into
chDB. Every symbol has ticks, minute bars and feature rows in the store, and Binance's share (more than one
connection takes) came over more than one connection.

A minute bar closes when a tick's exchange time passes the minute's end, so the simulator's clock runs ahead of
the wall clock (``TICKAGG_SIMULATOR_CLOCK_OFFSET``; the file's ``max_clock_skew`` lets the feeds take it) by
just enough that a minute of exchange time ends ``LEAD_S`` after the start: the run lasts one minute boundary,
not up to two."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import orjson
import pytest
from stores import need_chdb

from simulator.universe import universe
from simulator.venues import VENUES

TOTAL = 2378
LEAD_S = 30.0  # feeds resolve their lists, connect and see every symbol tick before this
AFTER_S = 15.0  # then every symbol's bar closes (a tick past the boundary), its features are made and stored
FILTERS = {  # what each venue's share of the universe is; the simulator also lists what these leave out
    "binance": '{ quote = "USDT", kind = "spot" }', "okx": '{ quote = "USDT", kind = ["spot", "perpetual"] }',
    "coinbase": '{ quote = "USD" }', "kraken": '{ quote = ["USD"] }', "bybit": '{ quote = "USDT", kind = "spot" }',
    "bitfinex": '{ quote = "USD", kind = "spot" }', "bitstamp": '{ quote = "USD" }',
    "gemini": '{ quote = "USD", kind = "spot" }', "deribit": '{ quote = "USD", kind = "perpetual" }',
    "bitmex": '{ quote = "USD", kind = "perpetual" }',
}


def _tickagg(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _deployment(path, group: str) -> None:
    venues = "".join(f"\n[venues.{venue}]\nsymbols = {FILTERS[venue]}\n" for venue in VENUES)
    path.write_text(f'group = "{group}"\n\n[feeds]\nmax_clock_skew = [300, 90]  # the simulator\'s clock runs '
                    f"ahead\n\n[simulator]\nrate = 1000\n{venues}")


@pytest.mark.slow
def test_every_symbol_of_ten_venue_lists_reaches_the_store(group, tmp_path):
    need_chdb()
    deployment = tmp_path / "tickagg.toml"
    _deployment(deployment, group)
    store = f"chdb://{tmp_path / 'store'}"
    start = time.time()
    offset = -(start + LEAD_S) % 60  # exchange time start + LEAD_S is a minute boundary
    env = {**os.environ, "TICKAGG_SIMULATOR_CLOCK_OFFSET": f"{offset:.3f}"}
    result = _tickagg("run", "--config", str(deployment), "--simulate", "--universe", str(TOTAL),
                      "--seconds", f"{LEAD_S + AFTER_S:g}", "--data-dir", str(tmp_path / "data"), "--store", store,
                      "--status-every", "5", env=env)
    logs = tmp_path / "data" / "logs"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    expected = {(venue, symbol) for venue, symbols in universe(TOTAL, tuple(VENUES)).items() for symbol in symbols}
    assert len(expected) == TOTAL
    for venue in VENUES:  # each feed resolved its filter from the venue's list (no more, no less)
        cached = orjson.loads((tmp_path / "data" / "writer" / group / "universe" / f"{venue}.json").read_bytes())
        assert {(venue, symbol) for symbol in cached["symbols"]} == {e for e in expected if e[0] == venue}

    tables = ("ticks", "bars_1m", "features")
    sql = " UNION ALL ".join(
        f"SELECT '{table}' AS t, exchange, symbol FROM tickagg.symbols WHERE symbol_id IN "
        f"(SELECT DISTINCT symbol_id FROM tickagg.{table})" for table in tables)
    query = _tickagg("query", sql, "--store", store, "--json")
    assert query.returncode == 0, query.stderr
    found = {table: set() for table in tables}
    for table, exchange, symbol in orjson.loads(query.stdout)["rows"]:
        found[table].add((exchange, symbol))
    for table in tables:
        missing = expected - found[table]
        assert not missing, f"{len(missing)} symbols without {table}, e.g. {sorted(missing)[:5]}; logs in {logs}"

    rings = _tickagg("rings", group, "--json")
    assert rings.returncode == 0, rings.stderr
    from shm.ring import ring_name

    binance = next(row for row in map(orjson.loads, rings.stdout.splitlines()) if row["ring"] == ring_name(group, "binance"))
    assert binance["metrics"]["connects"] - binance["metrics"]["reconnects"] > 1, binance["metrics"]
