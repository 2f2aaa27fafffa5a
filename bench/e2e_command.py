"""`tickagg bench e2e`: the whole group (simulator -> ten feeds -> aggregator -> writer -> store) at an
operating point, CPU and memory per role from /proc, lost/doubled trades and latencies from the store
(bench/e2e.py)."""
from __future__ import annotations

import argparse
import json

from aggregator.pace import IDLE_SLEEP_US, MIN_SLEEP_US
from feeds.batching import DEFAULT_WAIT_US, MAX_WAIT_US
from tickagg.args import bounded_float, bounded_int, positive_float
from tickagg.priority import HIGHEST, LOWEST, UNITS_NICE

HELP = "the whole group at an operating point: CPU and PSS per role from outside, lost/doubled trades, latencies"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=positive_float, default=80_000, help="trades/s over the ten venues (default 80000)")
    parser.add_argument("--seconds", type=positive_float, default=30.0, help="loaded window (default 30)")
    parser.add_argument("--idle-seconds", type=positive_float, default=60.0,
                        help="idle window, 10 trades/s, after the loaded phase's last minute has closed (default 60)")
    parser.add_argument("--no-closeout", dest="closeout", action="store_false",
                        help="start the idle window 3 s after the rate drops, not after the loaded phase's last minute "
                             "has closed (quicker; the idle figure then includes that close-out)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after every venue sent before measuring (default 5)")
    parser.add_argument("--store", choices=("clickhouse", "chdb"), default="clickhouse",
                        help="a private clickhouse-server (default) or embedded chDB")
    parser.add_argument("--symbols", type=int, default=2378, help="symbols over the ten venues (default 2378)")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's random seed (default 1)")
    parser.add_argument("--simulator-nice", type=int, default=-5,
                        help="the simulator's nice value (default -5: the exchanges keep their rate on a busy machine; 0 = as is)")
    parser.add_argument("--group-nice", type=bounded_int(LOWEST, HIGHEST),
                        help=f"the feeds' and the aggregator's nice value (default {UNITS_NICE}, as the systemd units "
                             "run them, unless TICKAGG__FEEDS__NICE / TICKAGG__AGGREGATOR__NICE say otherwise; below "
                             "the current value needs root or CAP_SYS_NICE, else not asked for; 0 = as started)")
    parser.add_argument("--feed-batch-wait-us", type=bounded_float(0, MAX_WAIT_US), metavar="US",
                        help="the feeds' read batching wait (feeds.batch_wait_us; default: the environment's, else "
                             f"{DEFAULT_WAIT_US:g}; 0: off, the lowest latency; up to {MAX_WAIT_US:g}: less CPU, more latency)")
    parser.add_argument("--aggregator-nap-us", type=positive_float, metavar="US",
                        help="the aggregator's naps while ticks flow: its --min-sleep-us and --idle-sleep-us both "
                             f"(default: the environment's, else {MIN_SLEEP_US:g} doubling to {IDLE_SLEEP_US:g}); longer: "
                             "less CPU, more latency")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--detail", action="store_true", help="with --json: add a _detail object")


def run(args: argparse.Namespace) -> int:
    from bench.e2e import e2e

    result = e2e(args.rate, args.seconds, args.store, args.symbols, args.idle_seconds, args.warmup, args.seed,
                 args.simulator_nice, args.closeout, args.group_nice, args.feed_batch_wait_us, args.aggregator_nap_us)
    detail = result.pop("_detail")
    if args.json:
        print(json.dumps({**result, **({"_detail": detail} if args.detail else {})}))
        return 0
    cpu, pss = result["cpu_pct"], result["pss_mb"]
    if result["offered_per_s"] < 0.9 * args.rate:
        print(f"NOTE: {result['offered_per_s']:,.0f} trades/s offered, not {args.rate:,.0f}: the simulator waits for the "
              f"slowest reader (and was itself short of CPU?); load average {detail['loadavg_1min_at_end']} on "
              f"{detail['cpus']} CPUs. The figures below are for the rate offered.")
    print(f"{result['symbols']} symbols, {result['offered_per_s']:,.0f} trades/s offered, {result['stored_per_s']:,.0f}/s "
          f"stored ({detail['store']}); lost {result['lost']}, duplicated {result['duplicated']}")
    print(f"CPU over {detail['seconds']} s, % of one core: {result['cpu_pct_total']} (feeds {cpu['feeds']}, aggregator "
          f"{cpu['aggregator']}, writer {cpu['writer']}, supervisor {cpu['supervisor']}; simulator {cpu['simulator']} not counted)")
    woke = detail["wakeups"]
    print("wakeups a second (CPU µs each): " + ", ".join(
        f"{role} {rate:,.0f} ({woke['cpu_us_per_wakeup'][role] or '-'})" for role, rate in woke["wakeups_per_s"].items()))
    print(f"latency settings: feed read batching wait {detail['feed_batch_wait_us']:g} µs, aggregator naps "
          f"{'-'.join(f'{nap:g}' for nap in detail['aggregator_naps_us'])} µs, writer batch age {detail['writer_batch_ms']:g} ms")
    print("nice values: " + ", ".join(f"{role} {'/'.join(map(str, values)) or '-'}" for role, values in
                                      woke["nice"].items()) + ("" if detail["group_reniced"] else
                                                               " (the feeds and the aggregator as started)"))
    print(f"PSS max, MB: {result['pss_mb_total']} (feeds {pss['feeds']}, aggregator {pss['aggregator']}, writer "
          f"{pss['writer']}, supervisor {pss['supervisor']}; simulator {pss['simulator']} not counted)")
    print(f"idle (10 trades/s) CPU over {detail['idle_seconds']} s: {result['idle_cpu_pct_total']}% of one core "
          f"(after the loaded phase's close-out: {detail['closeout_s']} s)")
    print(f"from the simulator's send: tick-to-signal p50 {result['tick_to_signal_p50_ms']} ms, p99 "
          f"{result['tick_to_signal_p99_ms']} ms; tick-to-storage p99 {result['tick_to_storage_p99_ms']} ms "
          f"(send->receive p99 {detail['exchange_to_recv_p99_ms']} + receive->store p99 "
          f"{detail['recv_to_store_p99_ms_estimated']}, estimated from the writer's latency rows)")
    print(f"tick-to-signal p99 by stage: send->receive {detail['exchange_to_recv_p99_ms']} ms, receive->the "
          f"aggregator's pop {detail['recv_to_pop_p99_ms']} ms, pop->signal {detail['pop_to_signal_p99_ms']} ms")
    seconds = detail["recv_to_store_p99_ms_per_second"]
    if seconds["seconds"]:
        print(f"receive->store p99 per second: median {seconds['median']} ms, worst {seconds['max']} ms, "
              f"{seconds['seconds_over_50ms']} of {seconds['seconds']} seconds over 50 ms")
    crowd = detail["contention"]
    server = "" if crowd["store_server_cpu_pct"] is None else (
        f"; the store server ran {crowd['store_server_cpu_pct']}% of a core and waited "
        f"{crowd['store_server_waiting_for_cpu_pct']}% for a CPU")
    print(f"CPUs while loaded: the machine {crowd['machine_busy_pct']}% busy{server}")
    inserts = detail["writer_inserts"]
    if inserts:
        print(f"the writer's inserts (the store's part of it; waiting for them {inserts['all']['busy_pct']}% of the "
              "window): " + ", ".join(f"{table} {row['per_s']}/s p50 {row['p50_ms']} p99 {row['p99_ms']} max "
                                      f"{row['max_ms']} ms" for table, row in inserts.items() if table != "all"))
    return 0
