"""The aggregator process: attach every feed ring of a group, busy-poll them, run the kernels.

One loop turn: pop a batch from each tick ring -> ``fanin.process`` -> publish
the outputs (``flush_all``) -> commit each input ring's tail (so a crash
replays the turn rather than losing it) -> ``housekeeping``. With nothing to
read the loop spins ``spin_us`` and then sleeps ``idle_sleep_us`` between
looks (``busy_poll`` never sleeps: lowest latency, one core at 100 %).
Tick rings that appear later (a feed started after the aggregator) are
attached within a second.
"""
from __future__ import annotations

import logging
import os
import signal
import time

import numpy as np
import psutil

from aggregator import fanin
from aggregator.agg_state import K_BARS1M, K_BARS1S, K_FEATURE_ROWS, K_LATE, K_NO_SLOT, K_PENDING_MAX, K_TICKS, new_agg_state
from aggregator.outputs import flush_all, open_outputs
from shm import segment
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import CONSUMER, Ring, RingError, ring_name
from shm.topology import tick_ring

log = logging.getLogger("tickagg.aggregate")
BATCH = 4096
COUNTER_NAMES = ("ticks", "late_ticks", "ticks_without_slot", "feature_rows", "bars1s", "bars1m", "feature_queue_max",
                 "input_rings", "turns", "idle_sleeps")


class Aggregator:
    def __init__(self, group: str = "default", cpu: int | None = None, busy_poll: bool = False,
                 spin_us: float = 200.0, idle_sleep_us: float = 100.0, feature_budget: int = 8, **state_options):
        self.group = group
        self.cpu = pin_to_cpu(cpu)
        self.busy_poll, self.spin_ns, self.idle_sleep_s = busy_poll, int(spin_us * 1000), idle_sleep_us / 1e6
        self.feature_budget = feature_budget
        self.state = new_agg_state(**state_options)
        self.outputs, self.output_rings = open_outputs(group)
        self.status = self.output_rings[0]  # out.ticks: its metrics block holds our counters
        self.status.metric_names = list(COUNTER_NAMES)
        self.inputs: dict[str, Ring] = {}
        self._scratch = np.zeros(BATCH, dtype=TICK)
        self._stopping = False
        self.warm_up()

    def warm_up(self) -> None:
        """Compile (or load from the cache) every kernel before serving, so no tick waits for it."""
        started = time.monotonic()
        fanin.process(self._scratch[:0], self.state, self.outputs, time.time_ns())
        fanin.housekeeping(self.state, self.outputs, 0, 0)
        flush_all(self.outputs, self.state.histograms)
        log.info("kernels ready in %.1f s", time.monotonic() - started)

    def attach_new_rings(self) -> None:
        for exchange in EXCHANGE_IDS:
            name = ring_name(self.group, tick_ring(exchange))
            if exchange in self.inputs or not segment.exists(name):
                continue
            try:
                self.inputs[exchange] = Ring(name, CONSUMER, TICK)
                log.info("reading %s from tail %d", name, self.inputs[exchange].tail)
            except RingError as exc:
                log.warning("cannot read %s: %s", name, exc)

    def stop(self, *_signal) -> None:
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, seconds: float | None = None) -> None:
        """Serve until stopped (or for ``seconds``)."""
        state, outputs, scratch = self.state, self.outputs, self._scratch
        process, housekeeping = fanin.process, fanin.housekeeping
        deadline = time.monotonic() + seconds if seconds else None
        next_scan = 0.0
        last_work = time.monotonic_ns()
        turns = idle_sleeps = 0
        popped: list[Ring] = []
        while not self._stopping:
            turns += 1
            for ring in self.inputs.values():
                count = ring.pop_batch(scratch)
                if count:
                    process(scratch[:count], state, outputs, time.time_ns())
                    popped.append(ring)
            if popped:
                flush_all(outputs, state.histograms)
                for ring in popped:
                    ring.commit()
                popped.clear()
                last_work = time.monotonic_ns()
            queued = housekeeping(state, outputs, time.time_ns(), self.feature_budget)
            if outputs.counts.any():
                flush_all(outputs, state.histograms)
            now = time.monotonic()
            if now >= next_scan:
                next_scan = now + 1.0
                self.attach_new_rings()
                self._publish_counters(turns, idle_sleeps)
                for ring in self.inputs.values():
                    ring.heartbeat()
                if deadline and now >= deadline:
                    break
            if not self.busy_poll and not queued and time.monotonic_ns() - last_work > self.spin_ns:
                time.sleep(self.idle_sleep_s)
                idle_sleeps += 1
        flush_all(outputs, state.histograms)
        self._publish_counters(turns, idle_sleeps)

    def _publish_counters(self, turns: int, idle_sleeps: int) -> None:
        c = self.state.counters
        values = [c[K_TICKS], c[K_LATE], c[K_NO_SLOT], c[K_FEATURE_ROWS], c[K_BARS1S], c[K_BARS1M], c[K_PENDING_MAX],
                  len(self.inputs), turns, idle_sleeps]
        self.status.metrics[: len(values)] = values

    def close(self) -> None:
        for ring in [*self.inputs.values(), *self.output_rings]:
            ring.close()


def pin_to_cpu(cpu: int | None) -> int:
    """Pin this process to ``cpu`` (default: the last CPU it may use); return the CPU."""
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    if chosen not in allowed:
        raise ValueError(f"--cpu {cpu} is not one of the CPUs this process may use: {allowed}")
    psutil.Process().cpu_affinity([chosen])
    return chosen


def compile_kernels() -> float:
    """Compile (or load from the cache) the aggregator's kernels in a throw-away group; seconds taken."""
    group = f"compile{os.getpid()}"
    started = time.monotonic()
    try:
        Aggregator(group, cpu=sorted(os.sched_getaffinity(0))[0], max_symbols=1).close()
    finally:
        for name in segment.names(ring_name(group, "")):
            segment.remove(name)
    return time.monotonic() - started


if __name__ == "__main__":
    print(f"aggregator kernels ready in {compile_kernels():.1f} s")
