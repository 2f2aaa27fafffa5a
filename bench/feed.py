"""`tickagg bench feed`: one feed process against the simulator, and reconnect timing.

Throughput: the simulator serves one venue unpaced (as fast as the socket
takes frames; ``rate`` paces it, which leaves more of the machine to the
feed: on a 2-vCPU VM an unpaced simulator competes with the feed for the
physical core) from one process; one `tickagg feed` process reads it into its
ring while this process drains the ring (so it never fills). Over the measured
window: trade frames/s from the feed's own counter, and the feed process's CPU
time (user + system, psutil) per frame. Then the simulator pauses and
``lost`` = trades the simulator wrote - ticks the feed delivered.

Reconnect: the simulator drops the connection ``drops`` times; for each, the
time from the feed's new connection being accepted (its connect event) ... and
from the drop itself ... to the first tick received on the new connection.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np
import psutil

from simulator.handle import start_simulator
from shm import segment
from shm.pipeline_records import EVENT, EVENT_CONNECT
from shm.records import TICK
from shm.ring import CONSUMER, MONITOR, Ring, ring_name


def _metrics(group: str, venue: str) -> dict:
    from feeds.metrics import NAMES

    with Ring(ring_name(group, venue), MONITOR) as ring:
        return ring.status()["metrics"] or dict.fromkeys(NAMES, 0)  # names are set just after creation


def _start_feed(venue: str, url: str, group: str, symbols: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "tickagg.cli", "feed", venue, "--url", url, "--group", group,
               "--symbols", ",".join(symbols), "--log-level", "ERROR"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench feed: timed out waiting for {what}")
        time.sleep(0.01)


class _Drain:
    """Consumes the feed's tick ring (keeps it from filling); remembers receive times."""

    def __init__(self, group: str, venue: str):
        self.ring = Ring(ring_name(group, venue), CONSUMER, TICK)
        self.out = np.zeros(1 << 15, TICK)
        self.count = 0
        self.recv_after: list[int] = []  # first receive time after each mark

    def drain(self, mark_ns: int | None = None) -> int | None:
        first = None
        while n := self.ring.pop_batch(self.out):
            self.count += n
            if mark_ns is not None and first is None:
                later = self.out["ts_recv_ns"][:n][self.out["ts_recv_ns"][:n] >= mark_ns]
                first = int(later[0]) if later.size else None
            self.ring.commit()
        return first


def run(venue: str = "binance", seconds: float = 5.0, drops: int = 20, rate: float | None = None) -> dict:
    group = f"benchfeed{os.getpid()}"
    try:
        with start_simulator([venue], rate=rate or "max") as sim:
            symbols = list(sim.venue_stats(venue)["symbols"])
            feed = _start_feed(venue, sim.url(venue), group, symbols)
            try:
                _wait(lambda: segment.exists(ring_name(group, venue)) and _metrics(group, venue)["frames"] > 1000, 60, "first frames")
                drain = _Drain(group, venue)
                process = psutil.Process(feed.pid)
                warm_until = time.monotonic() + 1.0
                while time.monotonic() < warm_until:
                    drain.drain()
                before, cpu_before, t0 = _metrics(group, venue), sum(process.cpu_times()[:2]), time.monotonic()
                end = t0 + seconds
                while time.monotonic() < end:
                    drain.drain()
                    time.sleep(0.002)
                after, cpu_after, t1 = _metrics(group, venue), sum(process.cpu_times()[:2]), time.monotonic()
                sim.pause(venue)
                sent = sim.venue_stats(venue)["trades"]
                deadline = time.monotonic() + 30
                while _metrics(group, venue)["ticks"] < sent and time.monotonic() < deadline:
                    drain.drain()
                    time.sleep(0.01)
                time.sleep(0.6)  # counters reach shared memory within a read timeout
                drain.drain()
                sent, delivered = sim.venue_stats(venue)["trades"], _metrics(group, venue)["ticks"]
                frames = after["frames"] - before["frames"]
                result = {
                    "exchange": venue,
                    "frames_per_s": frames / (t1 - t0),
                    "frames_per_read": frames / max(1, after["reads"] - before["reads"]),
                    "trades_per_s": (after["ticks"] - before["ticks"]) / (t1 - t0),
                    "cpu_us_per_frame": (cpu_after - cpu_before) / frames * 1e6 if frames else None,
                    "feed_cpu_share": (cpu_after - cpu_before) / (t1 - t0),
                    "sent": sent,
                    "received": delivered,
                    "lost": sent - delivered,
                    "ring_dropped": _metrics(group, venue)["ring_dropped"],
                    "seconds": seconds,
                    "simulator_rate": rate or "max",
                }
                if drops:
                    sim.rate(venue, 2000)
                    sim.resume(venue)
                    result.update(_reconnects(sim, group, venue, drain, drops))
            finally:
                feed.terminate()
                feed.wait(15)
        return result
    finally:
        for name in segment.names(ring_name(group, "")):
            segment.remove(name)


def _reconnects(sim, group: str, venue: str, drain: _Drain, drops: int) -> dict:
    """Time from each drop, and from the new connection's acceptance, to the first tick on it."""
    events = Ring(ring_name(group, f"{venue}.events"), CONSUMER, EVENT)
    scratch = np.zeros(4096, EVENT)
    while n := events.pop_batch(scratch):
        events.commit()
    from_drop, from_connect = [], []
    for _ in range(drops):
        drain.drain()
        connects = _metrics(group, venue)["connects"]
        dropped_ns = time.time_ns()
        sim.fault(venue, "drop")
        _wait(lambda: _metrics(group, venue)["connects"] > connects, 30, "reconnect")
        connect_ns = None
        deadline = time.monotonic() + 10
        while connect_ns is None and time.monotonic() < deadline:
            n = events.pop_batch(scratch)
            found = scratch[:n][scratch["kind"][:n] == EVENT_CONNECT]
            if found.size:
                connect_ns = int(found["ts_ns"][-1])
            events.commit()
            time.sleep(0.001)
        first = None
        deadline = time.monotonic() + 10
        while first is None and time.monotonic() < deadline:
            first = drain.drain(mark_ns=connect_ns)
            time.sleep(0.001)
        if first is None or connect_ns is None:
            raise RuntimeError("bench feed: no tick after a reconnect")
        from_drop.append((first - dropped_ns) / 1e9)
        from_connect.append((first - connect_ns) / 1e9)
        time.sleep(1.2)  # past the feed's healthy period, so each drop starts from the first backoff step
    events.close()
    return {
        "drops": drops,
        "reconnect_first_tick_s_median": statistics.median(from_drop),
        "reconnect_first_tick_s_max": max(from_drop),
        "connect_to_first_tick_s_median": statistics.median(from_connect),
    }
