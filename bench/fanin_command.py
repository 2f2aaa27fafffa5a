"""`tickagg bench fanin`: aggregator throughput from 10 producers, or latency at an offered rate."""
from __future__ import annotations

import argparse

from tickagg.args import non_negative_float, positive_float, positive_int

HELP = "ticks/s through the aggregator from 10 producer processes; --rate R: tick-to-signal latency at R ticks/s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rate", type=non_negative_float, default=0.0, help="offered ticks/s in total (default: as fast as possible)")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="measured seconds (default 10)")
    parser.add_argument("--busy-poll", action="store_true",
                        help="the aggregator spins instead of napping while ticks flow (its --busy-poll: the lowest "
                             "latency, a whole core; default: its naps, as tickagg run starts it)")
    parser.add_argument("--symbols-per-exchange", type=positive_int, default=100, help="symbols per producer (default 100)")


def run(args: argparse.Namespace) -> int:
    import orjson

    from bench import fanin

    result = fanin.run(args.rate, args.seconds, args.symbols_per_exchange, args.busy_poll)
    if args.json:
        print(orjson.dumps(result).decode())
        return 0
    print(f"{result['producers']} producers, {result['symbols']} symbols: {result['ticks_per_s']:,.0f} ticks/s through the aggregator")
    if "tick_to_signal_p99_ms" in result:
        print(f"tick-to-signal at {args.rate:,.0f} ticks/s offered: p50 {result['tick_to_signal_p50_ms']:.3f} ms, "
              f"p99 {result['tick_to_signal_p99_ms']:.3f} ms, p99.9 {result['tick_to_signal_p999_ms']:.3f} ms")
    mode = "busy-polling" if result["aggregator_busy_poll"] else "napping while quiet, as deployed"
    print(f"aggregator CPU: {result['aggregator_cpu_pct']:.1f}% of one core ({mode})")
    print(f"ticks dropped in full tick rings: {result['dropped_in_tick_rings']}")
    return 0
