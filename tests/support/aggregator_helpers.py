"""Running a real aggregator process over feed rings, and watching what it published."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from shm import segment
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import MONITOR, Ring, ring_name
from shm.symbols import SymbolDirectory

MINUTE = 60_000_000_000


def start_aggregator(group: str) -> subprocess.Popen:
    """`tickagg aggregate` for ``group`` (64 symbols at most), its stderr piped."""
    return subprocess.Popen([sys.executable, "-m", "tickagg.cli", "aggregate", "--group", group, "--max-symbols", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def feed_ticks(group: str, exchange: str, n: int, start_ns: int, seed: int) -> np.ndarray:
    """``n`` ticks of symbols AAA and BBB over three minutes from ``start_ns``, ``seq`` 0..n-1."""
    directory = SymbolDirectory(group)
    ids = np.array([directory.id_of(exchange, s) for s in ("AAA", "BBB")], np.uint32)
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, TICK)
    ticks["ts_exchange_ns"] = start_ns + np.sort(rng.integers(0, 3 * MINUTE, n))
    ticks["ts_recv_ns"] = time.time_ns()
    ticks["price"] = 100 + rng.normal(0, 0.1, n).cumsum()
    ticks["size"] = rng.uniform(0.1, 2, n)
    ticks["side"] = rng.choice(np.array([-1, 1], np.int8), n)
    ticks["symbol_id"] = rng.choice(ids, n)
    ticks["exchange_id"] = EXCHANGE_IDS[exchange]
    ticks["seq"] = np.arange(n)
    return ticks


def out_ticks_published(group: str) -> int:
    """How many ticks the aggregator has published to out.ticks (0 before it made the ring)."""
    name = ring_name(group, "out.ticks")
    if not segment.exists(name):
        return 0
    with Ring(name, MONITOR) as ring:
        return ring.head
