"""`tickagg bench ring`: SPSC ring vs multiprocessing.Queue, and one-way latency."""
from __future__ import annotations

import argparse

from tickagg.args import non_negative_float, positive_float, positive_int

HELP = ("SPSC ring vs multiprocessing.Queue between two processes at batch 1/64/1024, with a producer without "
        "Numba too; push cost per call; one-way latency")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="duration of each throughput run (default 1)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--samples", type=positive_int, default=100_000, help="latency samples per run (default 100000)")
    parser.add_argument("--gap-us", type=non_negative_float, default=10.0, help="pause between latency samples in µs (default 10)")


def run(args: argparse.Namespace) -> int:
    import orjson

    from bench import ring

    result = ring.run(args.seconds, args.repeats, args.samples, args.gap_us)
    if args.json:
        print(orjson.dumps(result).decode())
        return 0
    print(f"records/s between two processes (median of {result['repeats']} runs of {result['seconds_per_run']} s)")
    print(f"{'batch':>6} {'ring':>16} {'mp.Queue':>16}")
    for batch, rate in result["ring"].items():
        queue = result["mp_queue"].get(batch)
        print(f"{batch:>6} {rate:>16,.0f} {queue:>16,.0f}" if queue else f"{batch:>6} {rate:>16,.0f} {'-':>16}")
    print(f"ring / mp.Queue at batch 1: {result['ring_vs_mp_queue_batch1']:.1f}x")
    plain = result["ring_plain_producer"]
    print("ring, producer without Numba: " + ", ".join(f"batch {b} {rate:,.0f}" for b, rate in plain.items()))
    for kind, costs in result["push_ns"].items():
        print(f"push_batch CPU, {kind:>6}: " + ", ".join(f"batch {b} {ns / 1000:.2f} µs" for b, ns in costs.items()))
    lat = result["latency_ns"]
    print(
        f"one-way latency, single records: p50 {lat['p50'] / 1000:.1f} µs, "
        f"p99 {lat['p99'] / 1000:.1f} µs, p99.9 {lat['p999'] / 1000:.1f} µs"
    )
    return 0
