"""The whole universe: 2,378 symbols over the ten venues, configured by one TOML file whose venues ask for filters
resolved from each venue's instrument list (the simulator's REST answers), run by `tickagg run --simulate` into
the session's ClickHouse server. Every symbol has ticks, minute bars and feature rows in the store, and Binance's
share (1,086 symbols: more than one connection's 1,024 streams) came over more than one connection.

A minute bar closes when a tick's exchange time passes the minute's end. Once every symbol has ticks in the
store, the test sets the simulator's clock (its control port: ``{"cmd":"clock"}``) just past the next minute of
exchange time, so each symbol's next tick closes its bar, instead of waiting for the wall clock's minute; the
file's ``max_clock_skew`` lets the feeds take the venues' clock ahead of theirs.
"""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import orjson
import pytest

from simulator.universe import universe
from simulator.venues import VENUES
from store import open_store

TOTAL = 2378
GIVE_UP_S = 240.0  # for every symbol's ticks, then for its bars and features (a busy machine is slow to start)
FILTERS = {  # what each venue's share of the universe is; the simulator also lists what these leave out
    "binance": '{ quote = "USDT", kind = "spot" }', "okx": '{ quote = "USDT", kind = ["spot", "perpetual"] }',
    "coinbase": '{ quote = "USD" }', "kraken": '{ quote = ["USD"] }', "bybit": '{ quote = "USDT", kind = "spot" }',
    "bitfinex": '{ quote = "USD", kind = "spot" }', "bitstamp": '{ quote = "USD" }',
    "gemini": '{ quote = "USD", kind = "spot" }', "deribit": '{ quote = "USD", kind = "perpetual" }',
    "bitmex": '{ quote = "USD", kind = "perpetual" }',
}


def _tickagg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def _deployment(path, group: str) -> None:
    venues = "".join(f"\n[venues.{venue}]\nsymbols = {FILTERS[venue]}\n" for venue in VENUES)
    path.write_text(f'group = "{group}"\n\n[feeds]\nmax_clock_skew = [300, 90]  # the simulator\'s clock runs '
                    f"ahead\n\n[simulator]\nrate = 1000\n{venues}")


def _stored(store: str, database: str) -> dict[str, set]:
    """(exchange, symbol) with rows, per table (asked in this process: a poll every half second, no interpreter
    start for each)."""
    tables = ("ticks", "bars_1m", "features")
    sql = " UNION ALL ".join(
        f"SELECT '{table}' AS t, exchange, symbol FROM {database}.symbols WHERE symbol_id IN "
        f"(SELECT DISTINCT symbol_id FROM {database}.{table})" for table in tables)
    found = {table: set() for table in tables}
    client = open_store(store)
    try:
        client.connect()
        rows = client.execute(sql)
    except Exception:  # noqa: BLE001 — before the writer made the tables: nothing yet
        rows = []
    finally:
        client.close()
    for table, exchange, symbol in rows:
        found[table].add((exchange, symbol))
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clock_ahead(port: int) -> None:
    """Exchange time from now on: one second past the next minute boundary of the wall clock."""
    offset = 61.0 - time.time() % 60
    with socket.create_connection(("127.0.0.1", port), timeout=30) as control:
        control.sendall(orjson.dumps({"cmd": "clock", "offset_s": offset}) + b"\n")
        reply = control.makefile("rb").readline()
    assert orjson.loads(reply)["ok"], reply


def _wait_for(store: str, database: str, expected: set, tables: tuple, run, deadline: float) -> dict:
    """Until every expected symbol has rows in ``tables`` (or the run ends, or the deadline): what is missing."""
    while True:
        found = _stored(store, database)
        missing = {table: expected - found[table] for table in tables if expected - found[table]}
        if not missing or run.poll() is not None or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


@pytest.mark.slow
def test_every_symbol_of_ten_venue_lists_reaches_the_store(group, tmp_path, clickhouse_server):
    deployment = tmp_path / "tickagg.toml"
    _deployment(deployment, group)
    database = f"u{group}"
    store = clickhouse_server.url(database=database)
    expected = {(venue, symbol) for venue, symbols in universe(TOTAL, tuple(VENUES)).items() for symbol in symbols}
    assert len(expected) == TOTAL
    control = _free_port()
    output = open(tmp_path / "run.out", "w+")
    run = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "run", "--config", str(deployment), "--simulate",
                            "--universe", str(TOTAL), "--simulator-control-port", str(control),
                            "--data-dir", str(tmp_path / "data"), "--store", store, "--status-every", "5"],
                           stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + GIVE_UP_S
        missing = _wait_for(store, database, expected, ("ticks",), run, deadline)
        if not missing:
            _clock_ahead(control)
            missing = _wait_for(store, database, expected, ("ticks", "bars_1m", "features"), run, deadline)
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(120)
        output.seek(0)
        said = output.read()
        output.close()
    assert code == 0, said[-3000:]
    for table, symbols in missing.items():
        raise AssertionError(f"{len(symbols)} symbols without {table}, e.g. {sorted(symbols)[:5]}; "
                             f"logs in {tmp_path / 'data' / 'logs'}\n{said[-2000:]}")
    assert _stored(store, database)["ticks"] == expected  # the filters left out what the lists hold besides
    for venue in VENUES:  # each feed resolved its filter from the venue's list, no more, no less
        cached = orjson.loads((tmp_path / "data" / "writer" / group / "universe" / f"{venue}.json").read_bytes())
        assert {(venue, symbol) for symbol in cached["symbols"]} == {e for e in expected if e[0] == venue}

    rings = _tickagg("rings", group, "--json")
    assert rings.returncode == 0, rings.stderr
    from shm.ring import ring_name

    binance = next(row for row in map(orjson.loads, rings.stdout.splitlines()) if row["ring"] == ring_name(group, "binance"))
    assert binance["metrics"]["connects"] - binance["metrics"]["reconnects"] > 1, binance["metrics"]
