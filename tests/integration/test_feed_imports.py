"""A feed process never imports Numba nor NumPy (issue 12): a real `tickagg feed` against the simulator, looked at
from outside while it runs (/proc/PID/maps) and from inside at its exit (sys.modules); what it wrote is read back
by the Numba kernels (ticks) and a NumPy ring (events)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import numpy as np

from import_probe import entry, mapped_files
from feed_helpers import metrics, read_all, wait_until
from shm import segment
from shm.pipeline_records import EVENT, EVENT_CONNECT
from shm.records import EXCHANGE_IDS
from shm.ring import CONSUMER, Ring, ring_name
from shm.symbols import SymbolDirectory
from simulator.handle import start_simulator

HEAVY = ("numba", "llvmlite", "numpy")
ENTRY = entry(HEAVY)


def test_a_feed_process_never_imports_numba_nor_numpy():
    group = f"feedimp{os.getpid()}x{uuid.uuid4().hex[:6]}"
    try:
        with start_simulator(["binance"], rate=500) as sim:
            symbols = list(sim.stats()["venues"]["binance"]["symbols"])
            command = [sys.executable, "-c", ENTRY, "feed", "binance", "--url", sim.url("binance"),
                       "--group", group, "--symbols", ",".join(symbols)]
            feed = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                wait_until(lambda: metrics(group, "binance")["ticks"] > 500 or feed.poll() is not None, 120,
                           "the feed to write 500 ticks")
                assert feed.poll() is None, feed.stderr.read()
                files = mapped_files(feed.pid)
            finally:
                feed.send_signal(signal.SIGTERM)
                out, err = feed.communicate(timeout=60)
        assert feed.returncode == 0, err
        assert any("mmap.cpython" in path for path in files)  # the maps do show extension modules
        assert [path for path in files if any(heavy in path for heavy in HEAVY)] == []
        assert out.splitlines()[-1] == "imported:"  # none of HEAVY in its sys.modules
        ticks = read_all(group, "binance")  # the Numba kernels read what the plain producer wrote
        assert len(ticks) > 500
        assert set(ticks["exchange_id"]) == {EXCHANGE_IDS["binance"]}
        assert np.all(np.diff(ticks["seq"].astype(np.int64)) == 1)
        names = {SymbolDirectory(group).name_of(int(i))[1] for i in set(ticks["symbol_id"])}
        assert names <= {s.upper() for s in symbols} | set(symbols) and names
        with Ring(ring_name(group, "binance.events"), CONSUMER, EVENT, numba=False) as events_ring:
            events = np.zeros(64, EVENT)
            events = events[: events_ring.pop_batch(events)]  # packed by struct, read as EVENT records
        connect = events[events["kind"] == EVENT_CONNECT][0]
        assert connect["exchange_id"] == EXCHANGE_IDS["binance"] and connect["value"] == 1
        assert connect["detail"].decode() == sim.url("binance") and connect["ts_ns"] > 0
    finally:
        for name in segment.names(f"tickagg.{group}."):
            segment.remove(name)
