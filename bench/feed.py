"""`tickagg bench feed`: one feed process against the simulator, and reconnect timing.

Throughput: the simulator serves one venue unpaced (as fast as the socket
takes frames; ``rate`` paces it, which leaves more of the machine to the
feed: on a 2-vCPU VM an unpaced simulator competes with the feed for the
physical core) from one process; one `tickagg feed` process reads it into its
ring while this process drains the ring (so it never fills). Over the measured
window: trade frames/s from the feed's own counter, and the feed process's CPU
time (user + system, from /proc) per frame. Then the simulator pauses and
``lost`` = trades the simulator wrote - ticks the feed delivered. ``ring_dropped``
counts the ticks the feed could not push because its ring was full: flat out, 250-450k
in all, nearly all before this process's drain attached (the ring holds 65,536 ticks,
~65 ms at 1M frames/s), a few thousand in the drain's 1 s warm-up (one run: 352,087
then 6,375); ``ring_dropped_in_window``, those of the measured window (0 in that run).

Paced (``rate``: one frame per socket write, evenly spaced, at a light rate
such as 800/s): a bare Python recv loop subscribed to the same venue is woken
by the same writes in the same window, and its CPU per frame is reported as
``baseline_cpu_us_per_frame`` (bench/feed_wakeup.py); then, for
``latency_s``, the drain busy-polls the ring for the feed's receive-to-ring
latency (``recv_to_ring_us_p50`` / ``_p99``), which includes the feed's read
batching waits (``batch_wait_us``, ``batch_waits_per_s``; feeds/batching.py:
frames read after a wait carry its start as their receive time).

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

from bench.feed_wakeup import Baseline, recv_to_ring
from bench.proc_times import cpu_seconds
from simulator.handle import start_simulator
from shm import segment
from shm.pipeline_records import EVENT, EVENT_CONNECT
from shm.records import TICK
from shm.ring import CONSUMER, MONITOR, Ring, ring_name


def _metrics(group: str, venue: str) -> dict:
    from feeds.metrics import NAMES

    with Ring(ring_name(group, venue), MONITOR) as ring:
        return ring.status()["metrics"] or dict.fromkeys(NAMES, 0)  # names are set just after creation


def _start_feed(venue: str, url: str, group: str, symbols: list[str], batch_wait_us: float | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "tickagg.cli", "feed", venue, "--url", url, "--group", group,
               "--symbols", ",".join(symbols), "--log-level", "ERROR"]
    if batch_wait_us is not None:
        command += ["--batch-wait-us", f"{batch_wait_us:g}"]
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


def run(venue: str = "binance", seconds: float = 5.0, drops: int = 20, rate: float | None = None,
        latency_s: float = 2.0, batch_wait_us: float | None = None, arrivals: str = "paced") -> dict:
    """``batch_wait_us``: the feed's read batching wait (feeds/batching.py; None: its default); ``arrivals``:
    "poisson" with a rate: the simulator's market-like arrivals (as in `bench e2e`) instead of evenly spaced."""
    group = f"benchfeed{os.getpid()}"
    try:
        with start_simulator([venue], rate=rate or "max", arrivals=arrivals if rate else "paced") as sim:
            symbols = list(sim.venue_stats(venue)["symbols"])
            feed = _start_feed(venue, sim.url(venue), group, symbols, batch_wait_us)
            baseline = None
            try:
                _wait(lambda: segment.exists(ring_name(group, venue)) and _metrics(group, venue)["frames"] > 1000, 60, "first frames")
                if rate:  # after the feed's subscription: every trade generated was written to the feed
                    baseline = Baseline(venue, sim.url(venue), symbols)
                drain = _Drain(group, venue)
                warm_until = time.monotonic() + 1.0
                while time.monotonic() < warm_until:
                    drain.drain()
                base_before = baseline.cpu_seconds() if baseline else 0.0
                before, cpu_before, t0 = _metrics(group, venue), cpu_seconds(feed.pid), time.monotonic()
                end = t0 + seconds
                while time.monotonic() < end:
                    drain.drain()
                    time.sleep(0.002)
                after, cpu_after, t1 = _metrics(group, venue), cpu_seconds(feed.pid), time.monotonic()
                base_cpu = baseline.cpu_seconds() - base_before if baseline else None
                paced = _paced(drain, latency_s) if rate else {}
                sim.pause(venue)
                counted = "generated" if rate else "trades"  # "trades" counts the baseline's copies too
                sent = sim.venue_stats(venue)[counted]
                deadline = time.monotonic() + 30
                while _metrics(group, venue)["ticks"] < sent and time.monotonic() < deadline:
                    drain.drain()
                    time.sleep(0.01)
                time.sleep(0.6)  # counters reach shared memory within a read timeout
                drain.drain()
                sent, delivered = sim.venue_stats(venue)[counted], _metrics(group, venue)["ticks"]
                frames = after["frames"] - before["frames"]
                result = {
                    "exchange": venue,
                    "frames_per_s": frames / (t1 - t0),
                    "frames_per_read": frames / max(1, after["reads"] - before["reads"]),
                    "trades_per_s": (after["ticks"] - before["ticks"]) / (t1 - t0),
                    "cpu_us_per_frame": (cpu_after - cpu_before) / frames * 1e6 if frames else None,
                    "feed_cpu_share": (cpu_after - cpu_before) / (t1 - t0),
                    "batch_wait_us": _batch_wait_us(batch_wait_us),
                    "batch_waits_per_s": (after["batch_waits"] - before["batch_waits"]) / (t1 - t0),
                    "sent": sent,
                    "received": delivered,
                    "lost": sent - delivered,
                    "ring_dropped": _metrics(group, venue)["ring_dropped"],
                    "ring_dropped_in_window": after["ring_dropped"] - before["ring_dropped"],
                    "seconds": seconds,
                    "simulator_rate": rate or "max",
                    "arrivals": arrivals if rate else "paced",
                }
                if baseline:
                    paced["baseline_cpu_us_per_frame"] = base_cpu / frames * 1e6 if frames else None
                    paced["cpu_ratio_to_baseline"] = (cpu_after - cpu_before) / base_cpu if base_cpu else None
                    paced["baseline_reads"] = baseline.stop()["reads"]
                    baseline = None
                result.update(paced)
                if drops:
                    sim.rate(venue, 2000)
                    sim.resume(venue)
                    result.update(_reconnects(sim, group, venue, drain, drops))
            finally:
                if baseline:
                    baseline.stop()
                feed.terminate()
                feed.wait(15)
        return result
    finally:
        for name in segment.names(ring_name(group, "")):
            segment.remove(name)


def _batch_wait_us(asked: float | None) -> float:
    """The wait the feed runs with: as asked, else its default (the environment's, as the feed reads it)."""
    from feeds.feed_command import default_wait_us

    return asked if asked is not None else default_wait_us()


def _paced(drain: _Drain, latency_s: float) -> dict:
    """Receive-to-ring latency, busy-polling the ring (after the CPU window: the poll takes a core)."""
    drain.drain()
    p50, p99, count = recv_to_ring(drain.ring, latency_s)
    drain.count += count
    return {"recv_to_ring_us_p50": p50, "recv_to_ring_us_p99": p99, "latency_records": count}


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
