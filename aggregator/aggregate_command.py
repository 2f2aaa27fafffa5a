"""`tickagg aggregate`: the pinned aggregator process (what a systemd unit starts)."""
from __future__ import annotations

import argparse
import logging
import sys

from aggregator.pace import IDLE_SLEEP_US, MIN_SLEEP_US
from shm.names import group_argument
from tickagg import config, stop_during_start
from tickagg.args import UsageError, bounded_float, bounded_int, log_level, non_negative_float, non_negative_int, positive_float, positive_int
from tickagg.priority import HIGHEST, LOWEST, set_nice

HELP = "run the aggregator: fan in the group's tick rings, build bars, features, signals and latency rows"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", type=group_argument, default="default", help="process group (default: default)")
    parser.add_argument("--cpu", type=non_negative_int, help="CPU to pin to (default: the last one)")
    parser.add_argument("--nice", type=bounded_int(LOWEST, HIGHEST),
                        help="scheduling priority, -20 (first) to 19 (default: as started; below the current one needs "
                             "root or CAP_SYS_NICE, else logged and left); -10 (the systemd unit's, as the feeds'): with the "
                             "feeds, ahead of the writer and the rest of a busy machine")
    parser.add_argument("--busy-poll", action="store_true", help="never sleep when idle (lowest latency, burns the core)")
    parser.add_argument("--spin-us", type=non_negative_float, default=0.0, help="keep polling this long after the last tick before sleeping (default 0)")
    parser.add_argument("--min-sleep-us", type=non_negative_float, default=MIN_SLEEP_US, help="first sleep when a look finds nothing; doubles with each empty look (default 500: each wakeup costs CPU; 100 pops a tick sooner)")
    parser.add_argument("--idle-sleep-us", type=non_negative_float, default=IDLE_SLEEP_US, help="longest sleep between looks while idle: the wake bound (default 1000; 0: busy-poll)")
    parser.add_argument("--deep-sleep-us", type=bounded_float(0, 40000), default=5000.0, help="longest sleep once the group is quiet (<= 25 ticks in the last second): the wake bound after a silence (default 5000, at most 40000; not above --idle-sleep-us: never quiet)")
    parser.add_argument("--max-symbols", type=positive_int, default=4096, help="symbols with bars and features (about 50 KB each; default 4096)")
    parser.add_argument("--lateness-ms", type=bounded_float(0, 1000, high_open=True), default=250.0, help="how long a bar stays open for late ticks after its end (default 250, < 1000)")
    parser.add_argument("--fill-minutes", type=non_negative_int, default=60, help="empty 1 min bars emitted at most per gap (default 60)")
    parser.add_argument("--output-seconds", type=bounded_float(0, 600, low_open=True), 
                        help="out.ticks holds this many seconds at --peak-rate when it is created (default 4: the writer's "
                             "batch cycles, hiccups and a restart; `tickagg run` starts the feeds once the writer reads it)")
    parser.add_argument("--peak-rate", type=bounded_float(0, 1e8, low_open=True), 
                        help="ticks/s the whole group may burst to, for --output-seconds (default 120000)")
    parser.add_argument("--seconds", type=positive_float, help="stop after this many seconds (default: run until SIGTERM)")
    parser.add_argument("--log-level", type=log_level, default="INFO", help="logging level (default INFO)")
    config.add_argument(parser)


def run(args: argparse.Namespace) -> int:
    stop_asked = stop_during_start.note()  # a stop before the aggregator's own handlers: a clean one
    from shm.topology import RingSizing

    sizing = RingSizing.given(output_seconds=args.output_seconds, peak_rate=args.peak_rate)
    try:
        capacities = sizing.output_capacities()
    except ValueError as exc:
        raise UsageError(f"--output-seconds x --peak-rate: {exc}") from None
    from aggregator.main import Aggregator
    from shm.ring import RingError
    from shm.segment import EXIT_REFUSED, SegmentRefusedError

    import os

    allowed = sorted(os.sched_getaffinity(0))
    if args.cpu is not None and args.cpu not in allowed:
        raise UsageError(f"--cpu {args.cpu} is not one of the CPUs this process may use: {allowed}")
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    set_nice(args.nice)
    if stop_asked:
        return 0
    try:
        aggregator = Aggregator(args.group, args.cpu, args.busy_poll, args.spin_us, args.idle_sleep_us,
                                min_sleep_us=args.min_sleep_us, deep_sleep_us=args.deep_sleep_us, max_symbols=args.max_symbols, lateness_ms=args.lateness_ms, fill_minutes=args.fill_minutes,
                                output_capacities=capacities)
    except (RingError, ValueError) as exc:
        print(f"tickagg aggregate: {exc}", file=sys.stderr)
        return EXIT_REFUSED if isinstance(exc, SegmentRefusedError) else 1
    from tickagg.resident import drop_clean, settle

    # the kernels are loaded: LLVM's code (~70 MB resident) is not run again, its pages go back, and memory the
    # loaded kernels no longer need (4 KiB pages for the state, Numba's linking modules; tickagg/resident.py)
    settled = settle(aggregator.state, aggregator.outputs)
    logging.getLogger("tickagg.aggregate").info("kernels loaded; %.0f MB of LLVM's code pages given back; %s",
                                                drop_clean("libllvmlite") / 1024, settled)
    aggregator.install_signal_handlers()
    if stop_asked:
        aggregator.stop()  # run() returns at once, its outputs flushed
    aggregator.attach_new_rings()
    try:
        aggregator.run(args.seconds)
    except RingError as exc:  # a damaged output ring
        print(f"tickagg aggregate: {exc}", file=sys.stderr)
        return 1
    finally:
        aggregator.close()
    return 0
