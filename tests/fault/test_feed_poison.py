"""Poison frames over a real WebSocket: a real feed process, the simulator's live stream, and the issue's
killers (time beyond int64, 4,400-digit and "²" trade ids, absurd prices, a decade-ahead time, deep
nesting, a subscribed symbol too long for the directory's key, a full symbol directory) injected
among the good frames. The feed never dies, and every good trade is in the ring exactly once."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from feed_helpers import metrics, read_all, settle, start_feed, stop_feed, wait_until
from fuzz import good_frames, offline_session, poison_frames

from feeds.plausible import Limits
from simulator.handle import start_simulator
from simulator.market import ID_SPACING
from shm.symbols import SymbolDirectory

LONG_SYMBOL = "LONG-" + "X" * 70 + "-USDT"  # "okx:" + this is over the directory's 63-byte key


def _inject(sim, venue: str, frames: list[bytes]) -> None:
    """Inject in small commands (a control line holds at most 64 KiB)."""
    texts = [frame.decode("utf-8") for frame in frames]
    batch: list[str] = []
    for text in texts:
        if len(json.dumps(batch + [text])) > 48_000:
            sim.fault(venue, "inject", frames=batch)
            batch = []
        batch.append(text)
    if batch:
        sim.fault(venue, "inject", frames=batch)


def _texts(frames: list[bytes]) -> list[bytes]:
    """Frames that survive a trip as JSON text (valid UTF-8); byte-level damage stays in the unit tier."""
    kept = []
    for frame in frames:
        try:
            frame.decode("utf-8")
        except UnicodeDecodeError:
            continue
        kept.append(frame)
    return kept


def _good_ids(ticks: np.ndarray) -> np.ndarray:
    """The simulator's trade ids among the ticks (the poison the feed accepted has hashed text ids)."""
    ids = ticks["trade_id"]
    return ids[(ids >= ID_SPACING) & (ids < 100 * ID_SPACING)]


@pytest.mark.fault
@pytest.mark.parametrize("venue", ["binance", "okx", "coinbase", "kraken", "deribit"])
def test_poison_among_live_frames_kills_nothing_and_loses_nothing(group, venue):
    sim = start_simulator([venue], rate=300)
    symbols = list(sim.venue_stats(venue)["symbols"])
    feed = start_feed(venue, sim.url(venue), group, symbols)  # a too-long symbol on the command line is refused
    try:
        wait_until(lambda: metrics(group, venue)["ticks"] > 50, 60, "first ticks")
        _, good, symbol, _ = good_frames(venue, 3)
        poison = _texts(poison_frames(venue, good[0], symbol))
        if venue == "okx":
            poison.append(good[0].replace(symbol.encode(), LONG_SYMBOL.encode()))
        offline = offline_session(venue, symbols, Limits())
        offline.recv_ns = time.time_ns()
        offline.texts([bytearray(frame) for frame in poison])
        refused = offline.metrics.values["errors"]
        for _ in range(3):  # three rounds, among the live frames
            _inject(sim, venue, poison)
            time.sleep(0.3)
        wait_until(lambda: metrics(group, venue)["errors"] >= 3 * refused, 30, "poison counted")
        sent, counters = settle(sim, group, venue)
    finally:
        log = stop_feed(feed)
        sim.stop()
    assert feed.returncode == 0 and "Traceback" not in log, log[-3000:]  # stopped by SIGTERM, never died
    assert counters["connects"] == 1, log[-3000:]
    assert counters["errors"] >= 3 * refused > 0
    good_ids = _good_ids(read_all(group, venue))
    assert len(good_ids) == len(np.unique(good_ids)) == sent["trades"], "a good trade lost or stored twice"
    if venue == "okx":  # the too-long symbol, never subscribed: its trades cost nothing else
        assert counters["err_bad_symbol"] + counters["err_unknown_symbol"] >= 3, counters
    for kind in ("implausible_time", "bad_timestamp"):
        assert counters[f"err_{kind}"] >= 3, (kind, counters)


@pytest.mark.fault
def test_a_full_symbol_directory_costs_new_symbols_only_and_survives_a_restart(group):
    sim = start_simulator(["binance"], rate=300)
    symbols = list(sim.venue_stats("binance")["symbols"])
    directory = SymbolDirectory(group, capacity=1)  # room for one symbol: the first one, taken now
    directory.id_of("binance", symbols[0])
    directory.close()
    feed = start_feed("binance", sim.url("binance"), group, symbols)
    try:
        wait_until(lambda: metrics(group, "binance")["err_directory_full"] > 10, 60, "full directory counted")
        ticks_then = metrics(group, "binance")["ticks"]
        wait_until(lambda: metrics(group, "binance")["ticks"] > ticks_then + 20, 30, "ticks of the known symbol")
        feed.kill()  # SIGKILL, then a restart on the same full directory
        feed.wait(10)
        feed = start_feed("binance", sim.url("binance"), group, symbols)
        ticks_then = metrics(group, "binance")["ticks"]
        wait_until(lambda: metrics(group, "binance")["ticks"] > ticks_then + 20, 60, "ticks after the restart")
        time.sleep(0.5)
        alive = feed.poll() is None
    finally:
        log = stop_feed(feed)
        sim.stop()
    assert alive and "Traceback" not in log, log[-3000:]
    assert "directory_full" in log or "is full" in log
    ticks = read_all(group, "binance")
    assert len(ticks) > 40 and set(ticks["symbol_id"].tolist()) == {1}
