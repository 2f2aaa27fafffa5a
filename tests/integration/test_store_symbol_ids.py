"""Stored symbol ids keep their meaning across runs of a group whose rings were wiped in between (issue 14, item 1).

Real simulator, feeds, aggregator and writer, twice: the second run starts the venues in the other order with
other symbol subsets, after `tickagg rings --remove`, so the shared-memory ids name other symbols. The
simulator's symbols trade at distinct price levels (BTC ~60,000, ETH ~3,000, SOL ~150): every stored tick and
bar must lie in the level of the symbol its id names, on the venue it names."""
from __future__ import annotations

import signal
import subprocess
import sys

import orjson
import pytest
from aggregator_helpers import start_aggregator
from feed_helpers import start_feed, stop_feed, wait_until
from simulator.handle import start_simulator

from shm.records import EXCHANGE_IDS
from shm.symbols import SymbolDirectory
from store import open_store, parse

SYMBOLS = {"binance": ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "okx": ["BTC-USDT", "ETH-USDT", "SOL-USDT"]}
LEVELS = {"BTC": (50_000.0, 70_000.0), "ETH": (2_500.0, 3_500.0), "SOL": (120.0, 180.0)}
FIRST = [("binance", ["BTCUSDT", "ETHUSDT"]), ("okx", ["SOL-USDT"])]
SECOND = [("okx", ["SOL-USDT", "BTC-USDT", "ETH-USDT"]), ("binance", ["SOLUSDT", "ETHUSDT"])]


def tickagg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=120)


def start_writer(group: str, store_url: str, state_dir: str, report: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tickagg.cli", "write", "--group", group, "--store", store_url,
                             "--state-dir", state_dir, "--report", report],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stored_ticks(report: str) -> int:
    try:
        with open(report, "rb") as f:
            return orjson.loads(f.read())["rows_stored"].get("ticks", 0)
    except (FileNotFoundError, orjson.JSONDecodeError):
        return 0


def run_group(group: str, store_url: str, tmp_path, venues: list[tuple[str, list[str]]]) -> dict[int, str]:
    """One run: feeds started one after the other (registration order = ``venues``); returns the run's
    directory (run id -> exchange:symbol). Stops everything and removes the group's rings."""
    sim = start_simulator([v for v, _ in venues], rate=800, symbols=SYMBOLS)
    report = str(tmp_path / "writer.json")
    aggregator = start_aggregator(group)
    writer = start_writer(group, store_url, str(tmp_path / "writer"), report)
    feeds = []
    try:
        directory = SymbolDirectory(group)
        for venue, symbols in venues:
            feeds.append(start_feed(venue, sim.url(venue), group, symbols))
            wait_until(lambda: all(directory.lookup(venue, s) for s in symbols), 60, f"{venue} to register")
        wanted = stored_ticks(report) + 2000
        wait_until(lambda: stored_ticks(report) >= wanted or writer.poll() is not None, 240, "2,000 ticks stored")
        assert writer.poll() is None, writer.stderr.read()
        names = dict(directory.items())
        directory.close()
    finally:
        for feed in feeds:
            stop_feed(feed)
        sim.stop()
        aggregator.send_signal(signal.SIGTERM)
        aggregator.communicate(timeout=60)
        writer.send_signal(signal.SIGTERM)
        _, log = writer.communicate(timeout=60)
    assert writer.returncode == 0, log
    removed = tickagg("rings", "--remove", group)
    assert removed.returncode == 0, removed.stderr
    return names


@pytest.mark.slow
def test_stored_symbol_ids_keep_their_meaning_across_wiped_rings(store_url, group, tmp_path):
    first = run_group(group, store_url, tmp_path, FIRST)
    second = run_group(group, store_url, tmp_path, SECOND)
    assert first[1].startswith("binance:") and second[1].startswith("okx:")  # the run ids changed meaning

    store = open_store(parse(store_url))
    store.connect()
    try:
        db = store.database
        symbols = {int(i): (e, s) for i, e, s in store.execute(f"SELECT symbol_id, exchange, symbol FROM {db}.symbols")}
        ticks = store.execute(f"SELECT symbol_id, exchange_id, min(price), max(price), count() FROM {db}.ticks "
                              "GROUP BY symbol_id, exchange_id")
        bars = store.execute(f"SELECT symbol_id, min(low), max(high) FROM {db}.bars_1s GROUP BY symbol_id")
        named = store.execute(f"SELECT exchange, symbol, count() FROM {db}.ticks_named GROUP BY exchange, symbol")
        stages = store.execute(f"SELECT DISTINCT stage_name FROM {db}.latency_named")
    finally:
        store.close()
    runs = {tuple(name.split(":")) for name in (*first.values(), *second.values())}
    assert sorted(symbols.values()) == sorted(runs)  # one id per (exchange, symbol) of either run, no more
    assert all(symbols[i] == tuple(name.split(":")) for i, name in first.items())  # the first run's ids, kept
    seen = set()
    for symbol_id, exchange_id, low, high, count in ticks:
        exchange, symbol = symbols[int(symbol_id)]
        assert EXCHANGE_IDS[exchange] == int(exchange_id), (symbol_id, exchange, exchange_id)
        level = LEVELS[symbol[:3]]
        assert level[0] <= low <= high <= level[1], (exchange, symbol, low, high)
        seen.add((exchange, symbol))
    assert seen == runs  # every symbol of both runs has ticks
    for symbol_id, low, high in bars:
        level = LEVELS[symbols[int(symbol_id)][1][:3]]
        assert level[0] <= low <= high <= level[1]
    assert {(e, s) for e, s, _ in named} == runs  # the view names every stored tick
    assert ("tick_to_store",) in stages
