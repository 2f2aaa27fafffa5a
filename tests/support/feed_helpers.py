"""Running real feed processes against the simulator, and reading what they wrote."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np

from feeds.metrics import NAMES
from shm import segment
from shm.pipeline_records import EVENT
from shm.records import TICK
from shm.ring import CONSUMER, MONITOR, Ring, ring_name


def start_feed(venue: str, url: str, group: str, symbols: list[str], *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "tickagg.cli", "feed", venue, "--url", url, "--group", group,
               "--symbols", ",".join(symbols), *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_feed(process: subprocess.Popen) -> str:
    """SIGTERM, wait, and return what it logged."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err or ""


def wait_until(predicate, timeout_s: float = 30.0, what: str = "condition", poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def metrics(group: str, venue: str) -> dict:
    name = ring_name(group, venue)
    if not segment.exists(name):
        return dict.fromkeys(NAMES, 0)
    with Ring(name, MONITOR) as ring:
        return ring.status()["metrics"] or dict.fromkeys(NAMES, 0)


def read_all(group: str, short: str, dtype=None) -> np.ndarray:
    """Consume every record in a ring (dtype None: the ring's own)."""
    chunks = []
    with Ring(ring_name(group, short), CONSUMER, dtype) as ring:
        out = np.zeros(1 << 16, dtype=ring.dtype)
        while count := ring.pop_batch(out):
            chunks.append(out[:count].copy())
            ring.commit()
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype or TICK)


def events(group: str, venue: str) -> np.ndarray:
    return read_all(group, f"{venue}.events", EVENT)


def settle(sim, group: str, venue: str, timeout_s: float = 30.0) -> tuple[dict, dict]:
    """Pause the venue and wait until the feed has every trade the simulator wrote: (venue stats, feed counters)."""
    return settle_all(sim, group, [venue], timeout_s)[venue]


def settle_all(sim, group: str, venues: list[str], timeout_s: float = 30.0) -> dict[str, tuple[dict, dict]]:
    """``settle`` for several venues at once (paused together, waited for together)."""
    for venue in venues:
        sim.pause(venue)
    for venue in venues:
        stats = sim.venue_stats(venue)
        wait_until(lambda v=venue, s=stats: metrics(group, v)["ticks"] >= s["trades"] - metrics(group, v)["duplicates"],
                   timeout_s, f"{venue} feed to receive {stats['trades']} trades")
    # counters reach shared memory within a read timeout (0.25 s): wait until the trade counts stand
    # still (heartbeats keep bytes and frames moving)
    def counts():
        current = {venue: metrics(group, venue) for venue in venues}
        return current, tuple(current[v][k] for v in venues for k in ("ticks", "duplicates", "replayed", "errors", "gaps"))

    previous = None
    while (current := counts())[1] != previous:
        previous = current[1]
        time.sleep(0.6)
    return {venue: (sim.venue_stats(venue), current[0][venue]) for venue in venues}
