"""`tickagg bench feed`: one feed process against the local simulator."""
from __future__ import annotations

import argparse

from feeds.batching import MAX_WAIT_US
from tickagg.args import bounded_float, non_negative_int, positive_float

HELP = ("one feed process against the simulator: frames/s, CPU µs per frame, lost trades; reconnect timing; "
        "with --rate, against a bare Python recv loop, and receive-to-ring latency")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from feeds.venues import VENUES

    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--exchange", default="binance", choices=sorted(VENUES), help="venue (default binance)")
    parser.add_argument("--seconds", type=positive_float, default=5.0, help="measured seconds (default 5)")
    parser.add_argument("--rate", type=positive_float, default=None, help="simulator trades/s (default: unpaced)")
    parser.add_argument("--latency-seconds", type=positive_float, default=2.0,
                        help="with --rate: seconds of busy-polling the ring for receive-to-ring latency (default 2)")
    parser.add_argument("--arrivals", choices=("paced", "poisson"), default="paced",
                        help="with --rate: evenly spaced frames (default) or market-like Poisson arrivals with bursts "
                             "(simulator/arrivals.py, as bench e2e offers them)")
    parser.add_argument("--batch-wait-us", type=bounded_float(0, MAX_WAIT_US), default=None, metavar="US",
                        help="the feed's read batching wait (tickagg feed --batch-wait-us; default: the feed's)")
    parser.add_argument("--drops", type=non_negative_int, default=20, help="connection drops for the reconnect figure (default 20; 0: skip)")


def run(args: argparse.Namespace) -> int:
    import orjson

    from bench import feed

    result = feed.run(args.exchange, args.seconds, args.drops, args.rate, args.latency_seconds, args.batch_wait_us,
                      args.arrivals)
    if args.json:
        print(orjson.dumps(result).decode())
        return 0
    print(f"{result['exchange']}: {result['frames_per_s']:,.0f} frames/s, {result['cpu_us_per_frame']:.2f} CPU-µs per frame, "
          f"sent {result['sent']}, received {result['received']}, lost {result['lost']}")
    if "baseline_cpu_us_per_frame" in result:
        print(f"a bare Python recv loop on the same frames: {result['baseline_cpu_us_per_frame']:.2f} CPU-µs per frame "
              f"(feed {result['cpu_ratio_to_baseline']:.2f}x); receive to ring p50 {result['recv_to_ring_us_p50']:.0f} µs, "
              f"p99 {result['recv_to_ring_us_p99']:.0f} µs (read batching wait {result['batch_wait_us']:g} µs, "
              f"{result['batch_waits_per_s']:.0f} waits/s)")
    if args.drops:
        print(f"first tick after a dropped connection: median {result['reconnect_first_tick_s_median'] * 1000:.0f} ms "
              f"(max {result['reconnect_first_tick_s_max'] * 1000:.0f} ms) over {result['drops']} drops")
    return 0
