"""Feed resilience over real connections: drops, stalls, refusals, gaps, bad frames, heartbeats."""
from __future__ import annotations

import time

import numpy as np
import pytest

from feed_helpers import events, metrics, read_all, settle, start_feed, stop_feed, wait_until
from simulator.handle import start_simulator
from shm import segment
from shm.pipeline_records import EVENT_CONNECT, EVENT_DISCONNECT, EVENT_GAP
from shm.records import FLAG_GAP


@pytest.fixture
def group(group):
    yield group
    for name in segment.names(f"tickagg.{group}."):
        segment.remove(name)


def _run(venue, group, rate=500, extra=(), heartbeat_scale=1.0):
    sim = start_simulator([venue], rate=rate, heartbeat_scale=heartbeat_scale)
    symbols = list(sim.venue_stats(venue)["symbols"])
    feed = start_feed(venue, sim.url(venue), group, symbols, *extra)
    wait_until(lambda: metrics(group, venue)["ticks"] > 50, 60, "first ticks")
    return sim, feed


@pytest.mark.fault
@pytest.mark.parametrize("venue", ["binance", "coinbase", "bitfinex"])
def test_dropped_connections_reconnect_and_lose_nothing(group, venue):
    sim, feed = _run(venue, group)
    try:
        for _ in range(3):
            before = metrics(group, venue)["connects"]
            sim.fault(venue, "drop")
            wait_until(lambda: metrics(group, venue)["connects"] > before, 20, "reconnect")
            ticks_then = metrics(group, venue)["ticks"]
            wait_until(lambda: metrics(group, venue)["ticks"] > ticks_then, 20, "ticks after reconnect")
        sent, counters = settle(sim, group, venue)
    finally:
        log = stop_feed(feed)
        sim.stop()
    assert counters["ticks"] == sent["trades"], log[-2000:]  # every trade written to any connection
    assert counters["connects"] == 4 and counters["reconnects"] == 3
    kinds = events(group, venue)["kind"]
    assert (kinds == EVENT_CONNECT).sum() == 4 and (kinds == EVENT_DISCONNECT).sum() >= 3


@pytest.mark.fault
def test_stalled_connection_is_detected_and_replaced(group):
    sim, feed = _run("binance", group, extra=("--stale-after", "1.0"))
    try:
        sim.fault("binance", "stall", seconds=4)
        wait_until(lambda: metrics(group, "binance")["stale_reconnects"] >= 1, 10, "stale detection")
        ticks_then = metrics(group, "binance")["ticks"]
        wait_until(lambda: metrics(group, "binance")["ticks"] > ticks_then + 50, 20, "ticks after the stall")
    finally:
        log = stop_feed(feed)
        sim.stop()
    assert "stale: nothing received" in log


@pytest.mark.fault
def test_quiet_but_healthy_connection_is_kept(group):
    """Heartbeats alone keep a connection: no trades for longer than the stale limit is not a reason to reconnect."""
    sim, feed = _run("okx", group, extra=("--stale-after", "1.5"), heartbeat_scale=0.1)
    try:
        sim.pause("okx")
        time.sleep(4)
        counters = metrics(group, "okx")
    finally:
        stop_feed(feed)
        sim.stop()
    assert counters["connects"] == 1 and counters["stale_reconnects"] == 0
    assert counters["pings_sent"] >= 2  # OKX text pings, answered with "pong"


@pytest.mark.fault
def test_refused_connections_are_retried_with_backoff(group):
    sim, feed = _run("kraken", group)
    try:
        sim.fault("kraken", "refuse", seconds=1.5)
        sim.fault("kraken", "drop")
        time.sleep(1.0)
        during = metrics(group, "kraken")
        wait_until(lambda: metrics(group, "kraken")["connected"] == 1 and metrics(group, "kraken")["connects"] >= 2, 30, "reconnect after refusal")
        ticks_then = metrics(group, "kraken")["ticks"]
        wait_until(lambda: metrics(group, "kraken")["ticks"] > ticks_then, 20, "ticks after refusal")
    finally:
        log = stop_feed(feed)
        sim.stop()
    assert during["connected"] == 0
    assert "cannot connect" in log


@pytest.mark.fault
def test_skipped_trade_ids_are_flagged_as_a_gap(group):
    sim, feed = _run("binance", group, rate=200)
    try:
        symbol = list(sim.venue_stats("binance")["symbols"])[0]
        sim.fault("binance", "skip", count=7, symbol=symbol)
        wait_until(lambda: metrics(group, "binance")["gaps"] >= 1, 20, "gap")
        sent, counters = settle(sim, group, "binance")
    finally:
        stop_feed(feed)
        sim.stop()
    assert counters["gaps"] == 1 and counters["gap_trades"] == 7
    ticks = read_all(group, "binance")
    flagged = ticks[(ticks["flags"] & FLAG_GAP) != 0]
    assert len(flagged) == 1
    gap_events = events(group, "binance")
    gap_events = gap_events[gap_events["kind"] == EVENT_GAP]
    assert len(gap_events) == 1 and gap_events["value"][0] == 7 and gap_events["detail"][0].decode() == symbol


@pytest.mark.fault
@pytest.mark.parametrize("venue", ["binance", "okx", "bitmex", "deribit"])
def test_malformed_frames_are_counted_and_the_feed_goes_on(group, venue):
    sim, feed = _run(venue, group, rate=300)
    try:
        sim.fault(venue, "malformed", count=12)
        wait_until(lambda: metrics(group, venue)["errors"] >= 12, 20, "errors counted")
        ticks_then = metrics(group, venue)["ticks"]
        wait_until(lambda: metrics(group, venue)["ticks"] > ticks_then + 50, 20, "ticks after bad frames")
        sent, counters = settle(sim, group, venue)
    finally:
        stop_feed(feed)
        sim.stop()
    assert counters["errors"] == 12 and counters["connects"] == 1
    for kind in ("json", "binary_frame", "oversized_frame", "unknown_message"):
        assert counters[f"err_{kind}"] >= 1, kind
    assert counters["ticks"] == sent["trades"]


@pytest.mark.fault
def test_deribit_test_requests_are_answered(group):
    sim, feed = _run("deribit", group, heartbeat_scale=0.05)
    try:
        wait_until(lambda: metrics(group, "deribit")["replies_sent"] >= 3, 30, "answers to test_request")
        counters = metrics(group, "deribit")
    finally:
        stop_feed(feed)
        sim.stop()
    assert counters["connects"] == 1  # answered in time: the venue never cut us off


@pytest.mark.fault
def test_switch_before_lifetime_limit_overlaps_without_loss_or_duplicates(group):
    sim, feed = _run("binance", group, rate=1000, extra=("--max-lifetime", "3"))
    try:
        wait_until(lambda: metrics(group, "binance")["lifetime_reconnects"] >= 2, 30, "two lifetime switches")
        sim.pause("binance")
        time.sleep(1.0)
        counters = metrics(group, "binance")
    finally:
        stop_feed(feed)
        sim.stop()
    ticks = read_all(group, "binance")
    assert counters["gaps"] == 0
    for symbol_id in np.unique(ticks["symbol_id"]):
        ids = np.sort(ticks["trade_id"][ticks["symbol_id"] == symbol_id])
        np.testing.assert_array_equal(ids, np.arange(ids[0], ids[0] + len(ids)))  # consecutive: none lost, none twice
    assert counters["duplicates"] > 0  # the overlap really delivered trades twice, and they were dropped


@pytest.mark.fault
def test_unknown_symbol_is_a_venue_error_and_the_rest_flows(group):
    sim = start_simulator(["okx"], rate=300)
    symbols = list(sim.venue_stats("okx")["symbols"])
    feed = start_feed("okx", sim.url("okx"), group, symbols + ["NOPE-USDT"])
    try:
        wait_until(lambda: metrics(group, "okx")["err_venue_error"] >= 1, 30, "the venue's error for the unknown symbol")
        wait_until(lambda: metrics(group, "okx")["ticks"] > 100, 30, "ticks for the known symbols")
        counters = metrics(group, "okx")
    finally:
        stop_feed(feed)
        sim.stop()
    assert counters["connects"] == 1
