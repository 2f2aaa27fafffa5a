"""Helpers for benchmark processes: pinning, forking, medians."""
from __future__ import annotations

import multiprocessing
import os
import statistics


def pin(cpu: int) -> None:
    """Pin the calling process to one CPU (modulo the CPUs we may use)."""
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {allowed[cpu % len(allowed)]})


def context() -> multiprocessing.context.BaseContext:
    """Fork: children inherit the already compiled Numba kernels."""
    return multiprocessing.get_context("fork")


def run_pair(producer, consumer, producer_args: tuple, consumer_args: tuple, timeout_s: float = 120.0):
    """Run a producer and a consumer process to the end; return the consumer's result."""
    ctx = context()
    results = ctx.SimpleQueue()
    procs = [
        ctx.Process(target=consumer, args=(*consumer_args, results), daemon=True),
        ctx.Process(target=producer, args=producer_args, daemon=True),
    ]
    for proc in procs:
        proc.start()
    result = results.get()
    for proc in procs:
        proc.join(timeout_s)
        if proc.exitcode != 0:
            raise RuntimeError(f"benchmark process {proc.name} ended with {proc.exitcode}")
    return result


def median(values: list[float]) -> float:
    return float(statistics.median(values))
