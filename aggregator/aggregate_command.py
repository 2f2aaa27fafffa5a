"""`tickagg aggregate`: the pinned aggregator process (what a systemd unit starts)."""
from __future__ import annotations

import argparse
import logging
import sys

HELP = "run the aggregator: fan in the group's tick rings, build bars, features, signals and latency rows"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", default="default", help="process group (default: default)")
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the last one)")
    parser.add_argument("--busy-poll", action="store_true", help="never sleep when idle (lowest latency, burns the core)")
    parser.add_argument("--spin-us", type=float, default=200.0, help="keep polling this long after the last tick before sleeping (default 200)")
    parser.add_argument("--idle-sleep-us", type=float, default=100.0, help="sleep between looks while idle (default 100)")
    parser.add_argument("--max-symbols", type=int, default=4096, help="symbols with bars and features (about 50 KB each; default 4096)")
    parser.add_argument("--lateness-ms", type=float, default=250.0, help="how long a bar stays open for late ticks after its end (default 250, < 1000)")
    parser.add_argument("--fill-minutes", type=int, default=60, help="empty 1 min bars emitted at most per gap (default 60)")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until SIGTERM)")
    parser.add_argument("--log-level", default="INFO")


def run(args: argparse.Namespace) -> int:
    from aggregator.main import Aggregator
    from shm.ring import RingError

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        aggregator = Aggregator(args.group, args.cpu, args.busy_poll, args.spin_us, args.idle_sleep_us,
                                max_symbols=args.max_symbols, lateness_ms=args.lateness_ms, fill_minutes=args.fill_minutes)
    except (RingError, ValueError) as exc:
        print(f"tickagg aggregate: {exc}", file=sys.stderr)
        return 1
    aggregator.install_signal_handlers()
    aggregator.attach_new_rings()
    try:
        aggregator.run(args.seconds)
    except RingError as exc:  # a damaged output ring
        print(f"tickagg aggregate: {exc}", file=sys.stderr)
        return 1
    finally:
        aggregator.close()
    return 0
