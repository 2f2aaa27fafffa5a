"""A feed spreads its symbols over several connections (feeds/connection_limits.py, feeds/connections.py):
real feed processes against the simulator, which refuses what one connection of the venue refuses."""
from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest

from feed_helpers import events, metrics, read_all, settle, start_feed, stop_feed, wait_until
from shm import segment
from shm.pipeline_records import EVENT_DISCONNECT, EVENT_GAP
from shm.records import TICK
from shm.ring import CONSUMER, Ring, ring_name
from shm.symbols import SymbolDirectory
from simulator.handle import start_simulator

BINANCE = [f"Z{n:04d}USDT" for n in range(2_500)]  # 3 connections of at most 1,024 streams
BITFINEX = [f"tZ{n:04d}USD" for n in range(60)]  # 3 connections of at most 25 channels
OKX = [f"Z{n:04d}-USDT" for n in range(6)]  # --connection-symbols 2: 3 connections, each switched at 3 s of age


class TickSymbols:
    """The symbols a feed's ticks have named so far (consumes the tick ring)."""

    def __init__(self, group: str, venue: str):
        self.ring = Ring(ring_name(group, venue), CONSUMER, TICK)
        self.directory = SymbolDirectory(group)
        self.ids: set[int] = set()
        self.ticks = 0
        self._out = np.zeros(1 << 16, dtype=TICK)

    def names(self) -> set[str]:
        while count := self.ring.pop_batch(self._out):
            self.ids.update(np.unique(self._out["symbol_id"][:count]).tolist())
            self.ticks += count
            self.ring.commit()
        return {self.directory.name_of(symbol_id)[1] for symbol_id in self.ids}

    def close(self) -> None:
        self.ring.close()


@pytest.fixture(scope="module")
def running():
    """One simulator (Binance with 2,500 symbols, Bitfinex with 60, OKX with 6) and the three feeds, for the module."""
    group = f"conns{os.getpid()}x{uuid.uuid4().hex[:6]}"
    try:
        yield from _started(group)
    finally:
        for name in segment.names(f"tickagg.{group}."):
            segment.remove(name)


def _started(group: str):
    with start_simulator(["binance", "bitfinex", "okx"], rate={"binance": 5_000, "bitfinex": 300, "okx": 300},
                         symbols={"binance": BINANCE, "bitfinex": BITFINEX, "okx": OKX}, heartbeat_scale=0.2) as sim:
        feeds = {"binance": start_feed("binance", sim.url("binance"), group, BINANCE),
                 "bitfinex": start_feed("bitfinex", sim.url("bitfinex"), group, BITFINEX),
                 "okx": start_feed("okx", sim.url("okx"), group, OKX, "--connection-symbols", "2",
                                   "--max-lifetime", "3")}
        try:
            wait_until(lambda: metrics(group, "binance")["connections"] == 3, 60, "three binance connections")
            yield sim, group, feeds
        finally:
            logs = {venue: stop_feed(process) for venue, process in feeds.items()}
            for venue, log in logs.items():
                print(f"--- {venue} feed log\n{log[-3000:]}")


def _every_symbol_ticks(group: str, venue: str, symbols: list[str]) -> TickSymbols:
    seen = TickSymbols(group, venue)
    try:
        wait_until(lambda: seen.names() >= set(symbols), 60, f"a tick of every {venue} symbol")
    finally:
        seen.close()
    return seen


def test_binance_spreads_2500_symbols_over_three_connections_and_every_symbol_ticks(running):
    sim, group, _ = running
    _every_symbol_ticks(group, "binance", BINANCE)
    counters = metrics(group, "binance")
    assert counters["connections"] == 3 and counters["connected"] == 1 and counters["connects"] == 3
    venue = sim.venue_stats("binance")
    assert venue["open_connections"] == 3


def test_bitfinex_spreads_60_symbols_over_three_connections_of_25_channels(running):
    sim, group, _ = running
    wait_until(lambda: metrics(group, "bitfinex")["connections"] == 3, 30, "three bitfinex connections")
    _every_symbol_ticks(group, "bitfinex", BITFINEX)
    counters = metrics(group, "bitfinex")
    assert counters["errors"] == 0  # every chanId known on its own connection, no "subscribe: limit"
    assert counters["replayed"] >= 30 * len(BITFINEX)  # a snapshot per channel


def test_each_connection_switches_before_its_lifetime_without_loss_or_duplicates(running):
    sim, group, _ = running
    wait_until(lambda: metrics(group, "okx")["lifetime_reconnects"] >= 6, 40, "two switches per connection")
    sim.pause("okx")
    time.sleep(1.0)  # what was sent reaches the ring
    counters = metrics(group, "okx")
    ticks = read_all(group, "okx")
    assert counters["connections"] == 3 and counters["reconnects"] == 0  # switched, never dropped
    assert counters["gaps"] == 0 and counters["errors"] == 0 and counters["duplicates"] > 0  # overlaps, dropped
    symbol_ids = np.unique(ticks["symbol_id"])
    assert len(symbol_ids) == len(OKX)
    for symbol_id in symbol_ids:
        ids = np.sort(ticks["trade_id"][ticks["symbol_id"] == symbol_id])
        np.testing.assert_array_equal(ids, np.arange(ids[0], ids[0] + len(ids)))  # none lost, none twice


def test_a_dropped_connection_reconnects_alone_and_nothing_is_lost(running):
    """Runs after the others (module order): SIGKILL-free fault, the simulator ends ONE connection."""
    sim, group, _ = running
    before = metrics(group, "binance")
    dropped = sim.fault("binance", "drop", connection=1)
    assert 800 <= len(dropped["symbols"]) <= 1024  # one connection's share
    wait_until(lambda: metrics(group, "binance")["connects"] == before["connects"] + 1, 30, "the reconnect")
    wait_until(lambda: metrics(group, "binance")["connections"] == 3, 30, "three connections again")
    sent, counters = settle(sim, group, "binance")
    sim.resume("binance")
    assert counters["reconnects"] == before["reconnects"] + 1  # only the dropped one reconnected
    assert counters["ticks"] == sent["trades"]  # nothing lost: a symbol without a subscriber does not trade
    assert counters["gaps"] == 0 and counters["duplicates"] == 0 and counters["errors"] == 0
    assert sent["connections"] == 4  # three, then the one reconnect
    recorded = events(group, "binance")
    disconnects = recorded[recorded["kind"] == EVENT_DISCONNECT]
    assert len(disconnects) == 1 and b"connection 2" in disconnects[0]["detail"]
    assert not (recorded["kind"] == EVENT_GAP).any()


def test_a_killed_feed_restarts_with_all_its_connections(running):
    """SIGKILL the three-connection OKX feed: its last counters say 3 up; a new process starts from 0 and
    opens all three again, and ticks flow into the same ring."""
    sim, group, feeds = running
    feeds["okx"].kill()
    feeds["okx"].wait(10)
    assert metrics(group, "okx")["connections"] == 3  # what the killed process last wrote
    before = metrics(group, "okx")
    sim.resume("okx")
    feeds["okx"] = start_feed("okx", sim.url("okx"), group, OKX, "--connection-symbols", "2")
    wait_until(lambda: metrics(group, "okx")["connects"] == before["connects"] + 3, 30, "three new connections")
    wait_until(lambda: metrics(group, "okx")["ticks"] > before["ticks"] + 100, 30, "ticks after the restart")
    assert metrics(group, "okx")["connections"] == 3
