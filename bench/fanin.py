"""`tickagg bench fanin`: ticks/s through the aggregator from 10 producer processes, and tick-to-signal latency.

Ten producer processes (one per exchange ring, all on CPU 0) write synthetic
ticks stamped with the current time; the aggregator runs in its own process
pinned to the last CPU, with bars, features, signals and latency accounting
on, exactly as `tickagg aggregate` runs. Throughput mode (no ``rate``):
producers push as fast as the rings take ticks and the figure is the
aggregator's own tick counter over the measured window. Rate mode: producers
offer ``rate`` ticks/s in total, and this process reads every stamped tick
from ``out.ticks`` to compute exact tick-to-signal percentiles
(publish time - receive time). Both modes report the aggregator's CPU over
the measured window (``aggregator_cpu_pct``, % of one core, read from /proc).
"""
from __future__ import annotations

import os
import time

import numpy as np

from bench.processes import context, pin
from shm import segment
from shm.pipeline_records import STAMPED_TICK
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import CONSUMER, MONITOR, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory
from shm.topology import tick_ring

EXCHANGES = list(EXCHANGE_IDS)[:10]


def _producer(group: str, exchange: str, symbol_ids: np.ndarray, rate: float, seconds: float, seed: int) -> None:
    pin(0)
    ring = Ring(ring_name(group, tick_ring(exchange)), PRODUCER, TICK)
    rng = np.random.default_rng(seed)
    batch = 256 if rate <= 0 else max(1, int(rate / 1000))  # paced: one batch per millisecond
    ticks = np.zeros(batch, dtype=TICK)
    ticks["exchange_id"] = EXCHANGE_IDS[exchange]
    ticks["size"] = 0.01
    price = 60_000.0
    seq = 0
    interval_ns = int(batch / rate * 1e9) if rate > 0 else 0
    deadline = time.monotonic() + seconds
    next_push = time.monotonic_ns()
    while time.monotonic() < deadline:
        ticks["symbol_id"] = rng.choice(symbol_ids, batch)
        ticks["price"] = price + rng.normal(0, 1, batch).cumsum()
        ticks["side"] = rng.choice(np.array([-1, 1], np.int8), batch)
        ticks["seq"] = np.arange(seq, seq + batch)
        seq += batch
        if interval_ns:
            while time.monotonic_ns() < next_push:
                time.sleep(0.0002)
            next_push += interval_ns
        now = time.time_ns()
        ticks["ts_exchange_ns"] = now - 5_000_000
        ticks["ts_recv_ns"] = now
        done = ring.push_batch(ticks)
        while rate <= 0 and done < batch and time.monotonic() < deadline:
            done += ring.push_batch(ticks[done:])
    ring.close()


def _aggregator(group: str, seconds: float, busy_poll: bool, ready) -> None:
    from aggregator.main import Aggregator

    aggregator = Aggregator(group, busy_poll=busy_poll, max_symbols=2048)
    aggregator.attach_new_rings()
    ready.set()
    aggregator.run(seconds)
    aggregator.close()


def run(rate: float = 0.0, seconds: float = 10.0, symbols_per_exchange: int = 100, busy_poll: bool = False) -> dict:
    """``busy_poll``: the aggregator spins instead of napping while ticks flow (`tickagg aggregate --busy-poll`):
    the lowest latency, a whole core."""
    group = f"benchfanin{os.getpid()}"
    ctx = context()
    try:
        directory = SymbolDirectory(group)
        for exchange in EXCHANGES:  # rings first, so the aggregator attaches them all at start
            Ring(ring_name(group, tick_ring(exchange)), PRODUCER, TICK, 1 << 18).close()
        ids = {x: np.array([directory.id_of(x, f"S{i}") for i in range(symbols_per_exchange)], np.uint32) for x in EXCHANGES}
        ready = ctx.Event()
        warm_s = 2.0
        aggregator = ctx.Process(target=_aggregator, args=(group, seconds + warm_s + 3, busy_poll, ready), daemon=True)
        aggregator.start()
        if not ready.wait(600):
            raise RuntimeError("the aggregator did not start")
        per_producer = rate / len(EXCHANGES) if rate > 0 else 0.0
        producers = [ctx.Process(target=_producer, args=(group, x, ids[x], per_producer, seconds + warm_s, n), daemon=True)
                     for n, x in enumerate(EXCHANGES)]
        for proc in producers:
            proc.start()
        result = _measure(group, rate, seconds, warm_s, aggregator.pid)
        for proc in producers:
            proc.join(60)
        aggregator.join(60)
        return {"producers": len(EXCHANGES), **result, "aggregator_busy_poll": busy_poll, "seconds": seconds, "symbols": symbols_per_exchange * len(EXCHANGES)}
    finally:
        for name in segment.names(ring_name(group, "")):
            segment.remove(name)


def _cpu_s(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far, from /proc: measured from outside the process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(group: str, rate: float, seconds: float, warm_s: float, aggregator_pid: int) -> dict:
    status = Ring(ring_name(group, "out.ticks"), MONITOR)
    pin(0)
    if rate <= 0:
        time.sleep(warm_s)
        first_ticks, first_t = int(status.metrics[0]), time.monotonic()
        first_cpu = _cpu_s(aggregator_pid)
        time.sleep(seconds)
        ticks, elapsed = int(status.metrics[0]) - first_ticks, time.monotonic() - first_t
        return {"ticks_per_s": ticks / elapsed, "ticks": ticks, "dropped_in_tick_rings": _dropped(group),
                "aggregator_cpu_pct": 100 * (_cpu_s(aggregator_pid) - first_cpu) / elapsed}
    status.close()
    out = Ring(ring_name(group, "out.ticks"), CONSUMER, STAMPED_TICK)
    batch = np.zeros(1 << 14, STAMPED_TICK)
    latencies = []
    started = time.monotonic()
    measured_from = started + warm_s
    first_cpu = None
    while time.monotonic() < measured_from + seconds:
        count = out.pop_batch(batch)
        if first_cpu is None and time.monotonic() >= measured_from:
            first_cpu = _cpu_s(aggregator_pid)
        if count:
            if time.monotonic() >= measured_from:
                latencies.append(batch["ts_signal_ns"][:count] - batch["ts_recv_ns"][:count])
            out.commit()
        else:
            time.sleep(0.001)
    cpu_pct = 100 * (_cpu_s(aggregator_pid) - first_cpu) / seconds if first_cpu is not None else 0.0
    out.close()
    values = np.concatenate(latencies) if latencies else np.zeros(0, np.int64)
    if values.size == 0:
        raise RuntimeError("no ticks reached out.ticks during the measurement")
    p50, p99, p999 = np.percentile(values, [50, 99, 99.9]) / 1e6
    return {
        "rate_offered": rate,
        "ticks_per_s": values.size / seconds,
        "tick_to_signal_p50_ms": float(p50),
        "tick_to_signal_p99_ms": float(p99),
        "tick_to_signal_p999_ms": float(p999),
        "tick_to_signal_max_ms": float(values.max() / 1e6),
        "aggregator_cpu_pct": cpu_pct,
        "dropped_in_tick_rings": _dropped(group),
    }


def _dropped(group: str) -> int:
    total = 0
    for exchange in EXCHANGES:
        with Ring(ring_name(group, tick_ring(exchange))) as ring:
            total += ring.dropped
    return total
