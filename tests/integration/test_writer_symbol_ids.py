"""The writer's store symbol ids (writer/symbol_ids.py): new symbols while the store is down keep their ids through
the spill, and a local copy that contradicts the store stops the writer (exit 78) before it stores a row.

Each tick's price encodes the symbol it was recorded for (``PRICES``), so a stored row's id is checked against
the name the store's ``symbols`` table gives it."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import orjson

from bench.writer_command import make_ticks
from shm import segment
from shm.pipeline_records import STAMPED_TICK
from shm.records import EXCHANGE_IDS
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory, directory_name
from store import open_store, parse

PRICES = {("binance", "BTCUSDT"): 60_000.0, ("okx", "ETH-USDT"): 3_000.0, ("kraken", "SOL/USD"): 150.0}
DOWN = "clickhouse://writer@127.0.0.1:9/nothing"  # a port nothing listens on: the store is down


def push(group: str, names: list[tuple[str, str]], per_symbol: int, first_seq: int) -> None:
    """Register ``names`` in this order in the group's directory and push ticks of each into out.ticks."""
    directory = SymbolDirectory(group)
    ticks = make_ticks(first_seq, per_symbol * len(names), time.time_ns())
    for n, name in enumerate(names):
        mine = slice(n * per_symbol, (n + 1) * per_symbol)
        ticks["symbol_id"][mine] = directory.id_of(*name)
        ticks["exchange_id"][mine] = EXCHANGE_IDS[name[0]]
        ticks["price"][mine] = PRICES[name]
    directory.close()
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 14) as ring:
        assert ring.push_batch(ticks) == len(ticks)


def wipe(group: str) -> None:
    """What `tickagg rings --remove` does to the group: rings and directory gone."""
    for name in (ring_name(group, "out.ticks"), directory_name(group)):
        segment.remove(name)


def write(group: str, store: str, state_dir, seconds: float = 4.0,
          until=None) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the writer for ``seconds``; with ``until`` (a predicate on its report), stop it with SIGTERM as soon as its
    report (written every second) satisfies it, ``seconds`` being then only the bound. Returns (the finished process,
    its last report)."""
    report = state_dir / "report.json"
    report.unlink(missing_ok=True)  # an earlier run's report must not end this one
    writer = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "write", "--group", group, "--store", store,
                               "--state-dir", str(state_dir), "--seconds", str(seconds), "--report", str(report)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if until is not None:
            deadline = time.monotonic() + seconds
            while writer.poll() is None and time.monotonic() < deadline and not until(_report(report)):
                time.sleep(0.1)
            if writer.poll() is None:
                writer.send_signal(signal.SIGTERM)
        out, err = writer.communicate(timeout=180)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.communicate()
    return subprocess.CompletedProcess(writer.args, writer.returncode, out, err), _report(report)


def _report(path) -> dict:
    try:
        return orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}


def _stored_ticks(count: int):
    return lambda report: report.get("rows_stored", {}).get("ticks", 0) >= count


def _replayed(count: int):
    return lambda report: report.get("rows_replayed", 0) >= count and not report["symbols"]["unpublished"]


def stored(store_url: str) -> tuple[dict[int, tuple[str, str]], list[tuple]]:
    store = open_store(parse(store_url))
    store.connect()
    try:
        db = store.database
        symbols = {int(i): (e, s) for i, e, s in store.execute(f"SELECT symbol_id, exchange, symbol FROM {db}.symbols")}
        ticks = store.execute(f"SELECT symbol_id, exchange_id, min(price), max(price), count() FROM {db}.ticks "
                              "GROUP BY symbol_id, exchange_id ORDER BY symbol_id")
    finally:
        store.close()
    return symbols, ticks


def test_new_symbols_during_an_outage_keep_their_ids_through_the_spill(store_url, group, tmp_path):
    state = tmp_path / "writer"
    push(group, [("binance", "BTCUSDT")], 100, 0)
    done, _ = write(group, store_url, state, 60, until=_stored_ticks(100))
    assert done.returncode == 0, done.stderr
    wipe(group)
    push(group, [("okx", "ETH-USDT"), ("kraken", "SOL/USD"), ("binance", "BTCUSDT")], 100, 10_000)  # run ids 1, 2, 3
    done, report = write(group, DOWN, state, 60, until=lambda report: report.get("spill_rows", 0) >= 300)
    assert done.returncode == 1 and report["spill_rows"] == 300, done.stderr[-2000:]
    assert report["symbols"]["known"] == 3 and report["symbols"]["unpublished"] == 3  # not reconciled with a store yet
    done, report = write(group, store_url, state, 60, until=_replayed(300))  # the store is back: ids first, then the spill
    assert done.returncode == 0 and report["spill_rows"] == 0 and report["rows_replayed"] == 300, done.stderr[-2000:]
    symbols, ticks = stored(store_url)
    assert symbols == {1: ("binance", "BTCUSDT"), 2: ("okx", "ETH-USDT"), 3: ("kraken", "SOL/USD")}
    assert [(int(i), int(e), lo, hi, int(n)) for i, e, lo, hi, n in ticks] == [
        (1, EXCHANGE_IDS["binance"], 60_000.0, 60_000.0, 200),
        (2, EXCHANGE_IDS["okx"], 3_000.0, 3_000.0, 100),
        (3, EXCHANGE_IDS["kraken"], 150.0, 150.0, 100)]


def test_a_local_copy_that_contradicts_the_store_stops_the_writer_before_any_row(store_url, group, tmp_path):
    state = tmp_path / "writer"
    (state / group).mkdir(parents=True)
    with open(state / group / "symbols.jsonl", "wb") as f:  # this state dir once gave okx:ETH-USDT the id 1
        f.write(orjson.dumps({"id": 1, "exchange": "okx", "symbol": "ETH-USDT", "first_seen_ns": 1}) + b"\n")
    push(group, [("binance", "BTCUSDT")], 100, 0)
    # another state dir: the store gives binance:BTCUSDT id 1
    done, _ = write(group, store_url, tmp_path / "other", 60, until=_stored_ticks(100))
    assert done.returncode == 0, done.stderr
    push(group, [("binance", "BTCUSDT")], 100, 1000)
    done, report = write(group, store_url, state)
    assert done.returncode == 78, done.stderr[-2000:]
    assert "symbol id conflict" in done.stderr and "symbols.jsonl" in done.stderr and "aside" in done.stderr
    assert "symbol id 1" in report["symbols"]["conflict"] and not report["store_up"]
    assert report["rows_stored"] == {} and report["spill_rows"] == 0
    symbols, ticks = stored(store_url)
    assert symbols == {1: ("binance", "BTCUSDT")} and [int(t[4]) for t in ticks] == [100]
    with Ring(ring_name(group, "out.ticks"), MONITOR) as ring:
        assert ring.head - ring.tail == 100  # the refused run's rows are still in the ring


def test_a_feature_is_read_by_its_catalogue_name_with_its_symbol(store_url, group, tmp_path):
    from shm.pipeline_records import FEATURE_ROW
    from store.schema import FEATURE_BY_NAME
    from writer.catalogue import feature_catalogue

    catalogue = feature_catalogue(None, None)
    names = catalogue.names
    directory = SymbolDirectory(group)
    rows = np.zeros(2, FEATURE_ROW)
    rows["symbol_id"] = [directory.id_of("okx", "ETH-USDT"), directory.id_of("binance", "BTCUSDT")]
    rows["catalogue_version"] = catalogue.version
    rows["start_ns"] = time.time_ns() // 60_000_000_000 * 60_000_000_000
    rows["values"] = np.arange(len(names)) + np.array([[0.5], [0.25]])  # value = its index + .5 (ETH) or .25 (BTC)
    directory.close()
    with Ring(ring_name(group, "out.features"), PRODUCER, FEATURE_ROW, 1 << 6) as ring:
        assert ring.push_batch(rows) == 2
    done, _ = write(group, store_url, tmp_path / "writer", 60,
                    until=lambda report: report.get("rows_stored", {}).get("features", 0) >= 2)
    assert done.returncode == 0, done.stderr
    store = open_store(parse(store_url))
    store.connect()
    try:
        found = store.execute(FEATURE_BY_NAME.format(db=store.database, name="rsi_14") + " ORDER BY symbol")
    finally:
        store.close()
    index = names.index("rsi_14")
    assert [(e, s, v) for _, e, s, v in found] == [("binance", "BTCUSDT", index + 0.25), ("okx", "ETH-USDT", index + 0.5)]


def test_a_store_of_an_earlier_release_migrates_in_place_named_by_the_current_directory(store_url, group, tmp_path):
    from store.schema import MIGRATIONS, migrate

    directory = SymbolDirectory(group)
    ids = {name: directory.id_of(*name) for name in (("okx", "ETH-USDT"), ("binance", "BTCUSDT"))}
    directory.close()
    store = open_store(parse(store_url))
    store.connect()
    try:  # that release's schema, and ticks stored with the directory's ids as they were
        db = store.database
        migrate(store.execute, store.insert_rows, db, store.caps, 0, MIGRATIONS[:2])
        now = "now64(9)" if store.caps.datetime64 else "toInt64(now()) * 1000000000"
        for (exchange, symbol), symbol_id in ids.items():
            store.execute(f"INSERT INTO {db}.ticks (ts_exchange_ns, price, symbol_id, exchange_id) SELECT {now}, "
                          f"{PRICES[(exchange, symbol)]}, {symbol_id}, {EXCHANGE_IDS[exchange]} FROM system.numbers LIMIT 100")
    finally:
        store.close()
    done, report = write(group, store_url, tmp_path / "writer", seconds=2.0)  # no rings: it migrates, names, stops
    assert done.returncode == 0, done.stderr
    store = open_store(parse(store_url))
    store.connect()
    try:
        rows = store.execute(f"SELECT exchange, symbol, min(price), max(price), count() FROM {db}.ticks_named "
                             "GROUP BY exchange, symbol ORDER BY exchange")
        versions = store.execute(f"SELECT max(version) FROM {db}.schema_migrations")
    finally:
        store.close()
    assert int(versions[0][0]) == 3
    assert rows == [("binance", "BTCUSDT", 60_000.0, 60_000.0, 100), ("okx", "ETH-USDT", 3_000.0, 3_000.0, 100)]
