"""`bench feed --rate`: what a wakeup costs a feed, against the bare minimum, and what it adds to latency.

* ``Baseline``: a bare Python recv loop (bench/bare_recv.py) subscribed to the
  same simulator venue as the feed, so both are woken by the same socket
  writes in the same window; its CPU per frame is the floor a Python feed
  cannot go below.
* ``cpu_seconds`` (bench/proc_times.py): a process's CPU time from /proc (measured from outside, as
  every figure of the group is): the scheduler's run time of each of its
  threads in ns (/proc/PID/task/TID/schedstat), not /proc/PID/stat's user +
  system clock ticks, whose 10 ms steps are ~2.5 µs per frame of a 5 s window
  at 800 frames/s (the feed and its baseline are compared to a few µs).
* ``recv_to_ring``: the drain busy-polls the ring for a while and stamps each
  record as it appears: now - ``ts_recv_ns`` (the feed's stamp right after the
  socket read) is the time from receive to a consumer seeing it in the ring
  (parsing, staging, any batching wait, the push; plus the poll, < 1 µs).
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import orjson

from bench.proc_times import cpu_seconds


class Baseline:
    """The bare recv loop as a process connected to ``url``, subscribed to ``symbols`` of ``venue``."""

    def __init__(self, venue: str, url: str, symbols: list[str]):
        self.process = subprocess.Popen([sys.executable, "-m", "bench.bare_recv", venue, url, ",".join(symbols)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            self.process.kill()
            raise RuntimeError("bench feed: the bare recv loop did not connect")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> dict:
        """Stop it; its reads and bytes over the whole run."""
        self.process.terminate()
        out, _ = self.process.communicate(timeout=15)
        lines = out.strip().splitlines()
        return orjson.loads(lines[-1]) if lines else {}


def recv_to_ring(ring, seconds: float) -> tuple[float | None, float | None, int]:
    """(p50 µs, p99 µs, records) of receive-to-ring latency over ``seconds`` of busy polling ``ring``."""
    out = np.zeros(1 << 15, ring.dtype)
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n = ring.pop_batch(out, spin_us=2000)
        if n:
            now = time.time_ns()
            latencies.append(now - out["ts_recv_ns"][:n].astype(np.int64))
            ring.commit()
    if not latencies:
        return None, None, 0
    values = np.concatenate(latencies) / 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 99)), int(values.size)
