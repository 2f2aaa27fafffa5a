"""`tickagg rings` and `tickagg tail` against real rings."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import orjson

from feeds.ticks import trade_id_words
from shm import segment
from shm.pipeline_records import STAMPED_TICK
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory


def tickagg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=120)


def _ticks(group: str, count: int) -> np.ndarray:
    symbol_id = SymbolDirectory(group).id_of("binance", "BTCUSDT")
    ticks = np.zeros(count, dtype=TICK)
    ticks["seq"] = np.arange(count)
    ticks["symbol_id"], ticks["exchange_id"] = symbol_id, EXCHANGE_IDS["binance"]
    ticks["price"], ticks["size"], ticks["side"] = 60_000.5, 0.25, -1
    ticks["trade_id"] = np.arange(1000, 1000 + count)
    return ticks


def test_rings_lists_counters_and_liveness(group):
    with Ring(ring_name(group, "binance"), PRODUCER, TICK, 8) as ring:
        ring.metric_names = ["frames", "ticks"]
        ring.metrics[:2] = [7, 11]
        ring.push_batch(_ticks(group, 10))
        result = tickagg("rings", group, "--json")
    assert result.returncode == 0, result.stderr
    (row,) = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert row["ring"] == f"tickagg.{group}.binance"
    assert (row["capacity"], row["head"], row["tail"], row["lag"], row["dropped"]) == (8, 8, 0, 8, 2)
    assert row["producer_alive"] is True  # this test process held the producer role
    assert row["consumer_alive"] is False
    assert row["metrics"] == {"frames": 7, "ticks": 11}
    table = tickagg("rings", group)
    assert f"tickagg.{group}.binance" in table.stdout and "frames = 7" in table.stdout
    assert table.stdout.split("\n")[1].split()[-2:] == ["none", "none"]  # both roles closed cleanly


def test_tail_prints_ticks_with_names_and_consumes(group):
    with Ring(ring_name(group, "binance"), PRODUCER, TICK, 64) as ring:
        ring.push_batch(_ticks(group, 5))
    result = tickagg("tail", "binance", "--group", group, "--count", "3")
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [0, 1, 2]
    assert rows[0]["exchange"] == "binance" and rows[0]["symbol"] == "BTCUSDT"
    assert rows[0]["side"] == "sell" and rows[0]["price"] == 60_000.5 and rows[0]["trade_id"] == "1000"
    assert set(rows[0]) == {"exchange", "symbol", "price", "size", "side", "ts_ns", "trade_id", "recv_ns", "flags", "seq"}
    rest = tickagg("tail", f"tickagg.{group}.binance", "--exit")
    assert [orjson.loads(line)["seq"] for line in rest.stdout.splitlines()] == [3, 4]
    peek = tickagg("tail", "binance", "--group", group, "--peek", "--exit")
    assert peek.stdout == ""  # everything was consumed


def test_tail_on_missing_ring_is_a_clear_error(group):
    result = tickagg("tail", "nothere", "--group", group, "--exit")
    assert result.returncode == 1
    assert f"tickagg.{group}.nothere" in result.stderr


def test_rings_remove_deletes_the_group(group):
    Ring(ring_name(group, "a"), PRODUCER, TICK, 8).close()
    SymbolDirectory(group)
    result = tickagg("rings", "--remove", group)
    assert result.returncode == 0 and "removed 2 segment(s)" in result.stdout
    assert segment.names(ring_name(group, "")) == []


def test_tail_prints_a_uuid_trade_id_as_the_venue_wrote_it(group):
    venue_id = "3b2d6d74-b858-2413-ec15-715b1e7a251c"  # BitMEX trdMatchID (feeds/bitmex.py)
    ticks = _ticks(group, 2)
    ticks["trade_id"][0], ticks["trade_id_lo"][0], ticks["flags"][0] = trade_id_words(venue_id)
    stamped = np.zeros(2, STAMPED_TICK)
    for name in ("trade_id", "trade_id_lo", "flags", "symbol_id", "exchange_id"):
        stamped[name] = ticks[name]
    with Ring(ring_name(group, "bitmex"), PRODUCER, TICK, 64) as ring:
        ring.push_batch(ticks)
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 64) as ring:
        ring.push_batch(stamped)
    for name in ("bitmex", "out.ticks"):
        result = tickagg("tail", name, "--group", group, "--count", "2")
        assert result.returncode == 0, result.stderr
        rows = [orjson.loads(line) for line in result.stdout.splitlines()]
        assert [r["trade_id"] for r in rows] == [venue_id, "1001"], name
        assert "trade_id_lo" not in rows[0]
