"""Coinbase Advanced Trade end to end: a real ``tickagg feed coinbase`` process, chosen by its URL, against the
simulator's Advanced Trade protocol over a loopback WebSocket, writes exactly the trades the simulator sent."""
from __future__ import annotations

import numpy as np

from feed_helpers import metrics, read_all, settle, start_feed, stop_feed, wait_until
from shm.records import EXCHANGE_IDS
from shm.symbols import SymbolDirectory
from simulator.handle import start_simulator
from simulator.venues import coinbase_advanced as simulated

RATE = 6000  # trades/s: the simulator's ticks are >= 1 ms apart, so each symbol gets >= 2 trades a tick to batch


def test_feed_by_url_writes_every_sent_trade_once(group):
    with start_simulator(["coinbase"], rate=RATE, heartbeat_scale=0.2) as sim:
        symbols = list(sim.venue_stats("coinbase")["symbols"])
        feed = start_feed("coinbase", sim.url("coinbase") + "/advanced-trade", group, symbols)
        try:
            wait_until(lambda: metrics(group, "coinbase")["ticks"] > 3000, 60, "coinbase advanced ticks")
            sent, counters = settle(sim, group, "coinbase")
            ticks = read_all(group, "coinbase")
        finally:
            log = stop_feed(feed)
    assert sent["trades"] > 3000
    assert counters["ticks"] == sent["trades"] == len(ticks), log[-2000:]
    assert counters["errors"] == 0 and counters["gaps"] == 0 and counters["duplicates"] == 0, log[-2000:]
    assert counters["connects"] == 1 and counters["ring_dropped"] == 0
    # the snapshot on subscribe is a replay: counted, not written as live
    assert counters["replayed"] == simulated.SNAPSHOT_TRADES * len(symbols)
    # several trades per message: fewer frames (trades, heartbeats, acks) than trades
    assert counters["frames"] < counters["ticks"]
    assert set(np.unique(ticks["exchange_id"])) == {EXCHANGE_IDS["coinbase"]}
    directory = SymbolDirectory(group)
    names = {directory.name_of(int(i)) for i in np.unique(ticks["symbol_id"])}
    assert names == {("coinbase", symbol) for symbol in symbols}
    for symbol_id in np.unique(ticks["symbol_id"]):  # trade ids consecutive per product, oldest first
        ids = ticks["trade_id"][ticks["symbol_id"] == symbol_id].astype(np.int64)
        np.testing.assert_array_equal(np.diff(ids), 1)
    assert set(np.unique(ticks["side"])) == {-1, 1}  # BUY and SELL both read

