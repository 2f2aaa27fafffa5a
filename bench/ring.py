"""`tickagg bench ring`: SPSC ring throughput and latency between two processes.

Throughput: a producer process pushes batches of 1, 64 or 1024 tick records
for a fixed time (retrying what did not fit, so nothing is dropped) while a
pinned consumer process pops; records/s is counted at the consumer, from the
first record to the last, after checking that sequence numbers arrive in
order with none missing. The same records go through ``multiprocessing.Queue``
with the same two-process layout for comparison. Latency: the producer stamps
single records with CLOCK_MONOTONIC (system-wide on Linux) at a modest pace,
a busy-polling consumer stamps them on arrival. Each figure is the median of
``repeats`` runs.

``ring_plain_producer``: the same throughput run with a producer that pushes
without Numba (``Ring(..., numba=False)``, shm/plain.py, as the feeds do)
into the Numba consumer. ``push_ns``: what one ``push_batch`` call costs the
producer (process CPU time per call, median over blocks, a consumer draining
between blocks), kernel vs plain, in one process.
"""
from __future__ import annotations

import os
import time

import numpy as np

from bench.processes import median, pin, run_pair
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, remove, ring_name

GROUP = f"bench{os.getpid()}"
CAPACITY = 1 << 16


def _records(batch: int) -> np.ndarray:
    records = np.zeros(batch, dtype=TICK)
    records["price"], records["size"], records["side"] = 60_000.0, 0.01, 1
    return records


def _attach_producer(name: str, numba: bool = True) -> Ring:
    """Attach as producer once the consumer is attached (so no run starts with a backlog)."""
    ring = Ring(name, PRODUCER, TICK, numba=numba)
    while not ring.status()["consumer_alive"]:
        time.sleep(0.001)
    return ring


def _ring_producer(name: str, batch: int, seconds: float, total, numba: bool = True) -> None:
    pin(0)
    records = _records(batch)
    ring = _attach_producer(name, numba)
    sent, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(64):
            records["seq"] = np.arange(sent, sent + batch, dtype=np.uint64) if batch > 1 else sent
            done = ring.push_batch(records)
            while done < batch:  # the bench wants every record: retry the rest
                done += ring.push_batch(records[done:])
            sent += batch
    total.value = sent
    ring.close()


def _ring_consumer(name: str, total, results) -> None:
    pin(1)
    ring = Ring(name, CONSUMER, TICK)
    out = np.zeros(4096, dtype=TICK)
    received, first_ns, last_ns, in_order = 0, 0, 0, True
    while total.value < 0 or received < total.value:
        count = ring.pop_batch(out)
        if count:
            last_ns = time.perf_counter_ns()
            first_ns = first_ns or last_ns
            in_order &= int(out["seq"][count - 1]) == received + count - 1
            received += count
            ring.commit()
    ring.close()
    results.put({"received": received, "seconds": (last_ns - first_ns) / 1e9, "in_order": in_order})


def ring_throughput(batch: int, seconds: float, numba: bool = True) -> float:
    """Records/s through the ring at ``batch``; ``numba=False``: the producer pushes without Numba."""
    from bench.processes import context

    name = ring_name(GROUP, f"tp{batch}")
    remove(name)
    Ring(name, PRODUCER, TICK, CAPACITY).close()
    total = context().Value("q", -1)
    try:
        result = run_pair(_ring_producer, _ring_consumer, (name, batch, seconds, total, numba), (name, total))
    finally:
        remove(name)
    if not result["in_order"]:
        raise RuntimeError(f"ring delivered records out of order at batch {batch}")
    return result["received"] / result["seconds"]


def _queue_producer(queue, batch: int, seconds: float) -> None:
    pin(0)
    records = _records(batch)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(16):
            queue.put(records)
    queue.put(None)


def _queue_consumer(queue, results) -> None:
    pin(1)
    received, first_ns, last_ns = 0, 0, 0
    while (records := queue.get()) is not None:
        last_ns = time.perf_counter_ns()
        first_ns = first_ns or last_ns
        received += len(records)
    results.put({"received": received, "seconds": (last_ns - first_ns) / 1e9})


def queue_throughput(batch: int, seconds: float) -> float:
    from bench.processes import context

    queue = context().Queue(maxsize=CAPACITY // batch)
    result = run_pair(_queue_producer, _queue_consumer, (queue, batch, seconds), (queue,))
    return result["received"] / result["seconds"]


def _latency_producer(name: str, samples: int, gap_ns: int) -> None:
    pin(0)
    record = _records(1)
    ring = _attach_producer(name)
    for _ in range(samples):
        record["ts_recv_ns"] = time.monotonic_ns()
        ring.push_batch(record)
        resume = time.monotonic_ns() + gap_ns
        while time.monotonic_ns() < resume:
            pass
    ring.close()


def _latency_consumer(name: str, samples: int, results) -> None:
    pin(1)
    ring = Ring(name, CONSUMER, TICK)
    out = np.zeros(64, dtype=TICK)
    stamps = out["ts_recv_ns"]  # a view: no per-record field lookup in the loop
    latencies = np.zeros(samples + len(out), dtype=np.int64)
    received = 0
    while received < samples:
        count = ring.pop_batch(out, spin_us=1000.0)
        if count:
            now = time.monotonic_ns()
            for i in range(count):
                latencies[received + i] = now - stamps[i]
            received += count
            ring.commit()
    latencies = latencies[:samples]
    ring.close()
    warm = latencies[samples // 10 :]  # the first tenth warms caches and branch predictors
    results.put({q: float(np.percentile(warm, float(q[1:]) / (10 if q == "p999" else 1))) for q in ("p50", "p99", "p999")})


def latency(samples: int, gap_us: float) -> dict:
    name = ring_name(GROUP, "latency")
    remove(name)
    Ring(name, PRODUCER, TICK, CAPACITY).close()
    try:
        return run_pair(_latency_producer, _latency_consumer, (name, samples, int(gap_us * 1000)), (name, samples))
    finally:
        remove(name)


def push_ns(batch: int, numba: bool, blocks: int = 40) -> float:
    """CPU ns one ``push_batch`` of ``batch`` records costs (median over blocks of calls), in this process."""
    name = ring_name(GROUP, f"push{batch}")
    remove(name)
    calls = max(1, min(256, CAPACITY // batch))  # a block never fills the ring: no call drops
    records, out = _records(batch), np.zeros(CAPACITY, dtype=TICK)
    try:
        with Ring(name, PRODUCER, TICK, CAPACITY, numba=numba) as producer, Ring(name, CONSUMER, TICK) as consumer:
            costs = []
            for _ in range(blocks + 2):
                start = time.process_time_ns()
                for _ in range(calls):
                    producer.push_batch(records)
                costs.append((time.process_time_ns() - start) / calls)
                consumer.pop_batch(out)
                consumer.commit()
        return median(costs[2:])  # the first blocks fault the ring's pages in
    finally:
        remove(name)


def run(seconds: float = 1.0, repeats: int = 3, latency_samples: int = 100_000, gap_us: float = 10.0) -> dict:
    """All figures of `tickagg bench ring`, medians over ``repeats`` runs."""
    ring = {str(b): median([ring_throughput(b, seconds) for _ in range(repeats)]) for b in (1, 64, 1024)}
    plain = {str(b): median([ring_throughput(b, seconds, numba=False) for _ in range(repeats)]) for b in (64, 1024)}
    push = {kind: {str(b): median([push_ns(b, kind == "kernel") for _ in range(repeats)]) for b in (1, 64, 1024)}
            for kind in ("kernel", "plain")}
    queue = {str(b): median([queue_throughput(b, seconds) for _ in range(repeats)]) for b in (1, 64)}
    runs = [latency(latency_samples, gap_us) for _ in range(repeats)]
    latency_ns = {q: median([r[q] for r in runs]) for q in ("p50", "p99", "p999")}
    return {
        "ring": ring,
        "ring_plain_producer": plain,
        "push_ns": push,
        "mp_queue": queue,
        "latency_ns": latency_ns,
        "ring_vs_mp_queue_batch1": ring["1"] / queue["1"],
        "repeats": repeats,
        "seconds_per_run": seconds,
        "cpus": len(os.sched_getaffinity(0)),
    }
