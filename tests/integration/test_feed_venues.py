"""Every venue end to end: a real feed process, a real WebSocket connection to the simulator."""
from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from feed_helpers import read_all, settle_all, start_feed, stop_feed, wait_until, metrics
from simulator.handle import start_simulator
from feeds.venues import VENUES
from shm.records import EXCHANGE_IDS, FLAG_TRADE_UUID, trade_id_text
from shm.symbols import SymbolDirectory

RATE = 400  # trades/s per venue


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """Run all ten feeds against one simulator for a while; then what each delivered."""
    group = f"venues{os.getpid()}x{uuid.uuid4().hex[:6]}"
    results = {}
    with start_simulator(list(VENUES), rate=RATE, heartbeat_scale=0.2) as sim:
        stats = sim.stats()["venues"]
        feeds = {v: start_feed(v, sim.url(v), group, list(stats[v]["symbols"])) for v in VENUES}
        try:
            for venue in VENUES:
                wait_until(lambda v=venue: metrics(group, v)["ticks"] > 200, 60, f"{venue} ticks")
            for venue, (sent, counters) in settle_all(sim, group, list(VENUES)).items():
                results[venue] = {"sent": sent, "metrics": counters, "ticks": read_all(group, venue)}
        finally:
            logs = {v: stop_feed(p) for v, p in feeds.items()}
    directory = SymbolDirectory(group)
    yield results, directory, logs
    from shm import segment
    for name in segment.names(f"tickagg.{group}."):
        segment.remove(name)


@pytest.mark.slow
@pytest.mark.parametrize("venue", sorted(VENUES))
def test_feed_delivers_every_live_trade_once(delivered, venue):
    results, directory, logs = delivered
    result = results[venue]
    sent, counters, ticks = result["sent"], result["metrics"], result["ticks"]
    assert sent["trades"] > 0
    assert counters["ticks"] == sent["trades"] == len(ticks), logs[venue][-2000:]
    assert counters["errors"] == 0 and counters["gaps"] == 0 and counters["duplicates"] == 0
    assert counters["connects"] == 1 and counters["ring_dropped"] == 0
    assert set(np.unique(ticks["exchange_id"])) == {EXCHANGE_IDS[venue]}
    names = {directory.name_of(int(i)) for i in np.unique(ticks["symbol_id"])}
    assert {exchange for exchange, _ in names} == {venue}
    assert {symbol.upper() for _, symbol in names} <= {s.upper() for s in sent["symbols"]}
    for symbol_id in np.unique(ticks["symbol_id"]):
        ids = ticks["trade_id"][ticks["symbol_id"] == symbol_id]
        assert len(np.unique(ids)) == len(ids)  # no trade twice (a UUID's trade_id is a key too)
    uuid_ids = (ticks["flags"] & FLAG_TRADE_UUID) != 0
    assert uuid_ids.all() == (venue == "bitmex") and uuid_ids.any() == (venue == "bitmex")  # the simulator's UUIDs
    if venue == "bitmex":  # "00000000-0000-4000-8000-<counter>": kept exactly, not hashed
        texts = {trade_id_text(t["trade_id"], t["trade_id_lo"], t["flags"]) for t in ticks}
        assert len(texts) == len(ticks) and all(t.startswith("00000000-0000-4000-8000-") for t in texts)
    else:
        assert (ticks["trade_id_lo"] == 0).all()
    assert set(np.unique(ticks["side"])) <= {-1, 0, 1}
    assert (ticks["price"] > 0).all() and (ticks["size"] > 0).all()
    assert (np.abs(ticks["ts_recv_ns"] - ticks["ts_exchange_ns"]) < 60e9).all()  # simulator stamps now
    np.testing.assert_array_equal(ticks["seq"], np.arange(ticks["seq"][0], ticks["seq"][0] + len(ticks)))
