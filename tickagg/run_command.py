"""`tickagg run`: the whole group — feeds, aggregator, writer (and the simulator) — supervised, with live status."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from shm.names import group_argument
from tickagg import config
from tickagg.args import UsageError, non_negative_float, positive_float
from tickagg.supervisor import STABLE_S

HELP = "run the whole group (feeds, aggregator, writer; --simulate adds the local exchange simulator) with live status"
# Exit status of a timed run (--seconds): 0, or 1 if a process was down at the end or, restarted, had not been up
# for the last STABLE_S (each is named on stderr with its log), so `make demo` fails loudly instead of storing
# nothing; a process that failed and then ran well is only listed under "restarts".


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", type=group_argument, default="default", help="process group (default: default)")
    parser.add_argument("--exchanges", default="all", help="comma-separated venues, or all (default)")
    parser.add_argument("--simulate", action="store_true", help="connect the feeds to a local exchange simulator")
    parser.add_argument("--rate", type=non_negative_float, default=1000.0, help="simulated trades/s per venue (default 1000)")
    parser.add_argument("--universe", type=int, default=0, metavar="N",
                        help="--simulate: N symbols spread over the venues (default: each venue's 2-3)")
    parser.add_argument("--arrivals", choices=("paced", "poisson"), default="paced",
                        help="--simulate: paced (even) or poisson (bursts, skewed symbols, multi-trade frames)")
    parser.add_argument("--seed", type=int, default=0, help="--simulate --arrivals poisson: random seed")
    parser.add_argument("--simulator-control-port", type=int, default=0, metavar="PORT",
                        help="--simulate: the simulator's control port (default: any free one)")
    parser.add_argument("--store", default=None,
                        help="store URL for the writer (default: chdb://./data); its password reaches the writer "
                             "in its environment, never on its command line")
    parser.add_argument("--no-writer", action="store_true", help="do not store anything")
    parser.add_argument("--data-dir", default="./data", help="writer state and process logs (default ./data)")
    parser.add_argument("--seconds", type=positive_float, help="stop after this long (default: until Ctrl-C / SIGTERM)")
    parser.add_argument("--metrics-addr", type=_address, default=None, metavar="[ADDR:]PORT",
                        help="serve Prometheus /metrics of the group there (address default 127.0.0.1; port 0: any "
                             "free one, printed)")
    parser.add_argument("--status-every", type=positive_float, default=5.0, help="seconds between status lines (default 5)")
    config.add_argument(parser)  # its children read their part of the same file


def _address(text: str) -> tuple[str, int]:
    from tickagg.metrics_exporter import address_argument

    return address_argument(text)


def run(args: argparse.Namespace) -> int:
    import logging

    from tickagg.start_gate import writer_reads
    from tickagg.supervisor import Role, Supervisor
    from feeds.venues import VENUES

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    exchanges = list(VENUES) if args.exchanges == "all" else [x.strip() for x in args.exchanges.split(",")]
    unknown = [x for x in exchanges if x not in VENUES]
    if len(set(exchanges)) != len(exchanges):
        raise UsageError(f"--exchanges: a venue is named twice in {args.exchanges!r}")
    if unknown:
        raise UsageError(f"--exchanges: unknown venue(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(VENUES))}")
    store, secret = None, {}
    if args.store and not args.no_writer:
        from store.url import StoreURLError, for_child

        try:  # the writer child gets the URL without its password, and the password in its environment
            store, secret = for_child(args.store)
        except StoreURLError as exc:
            raise UsageError(f"--store: {exc}") from None
    simulator = None
    if args.simulate:
        from simulator.handle import start_simulator

        simulator = start_simulator(exchanges, rate=args.rate, symbols=getattr(args, "venue_symbols", None),
                                    universe=args.universe, arrivals=args.arrivals, seed=args.seed,
                                    control_port=args.simulator_control_port)
    deployment = ["--config", os.path.abspath(args.config)] if args.config else []
    roles = [Role("aggregate", ["aggregate", "--group", args.group, *deployment], stop_order=1)]
    from tickagg.writer_report import report_path

    report = report_path(os.path.join(args.data_dir, "writer"), args.group)  # the writer publishes it there anyway
    if not args.no_writer:
        argv = ["write", "--group", args.group, *deployment, "--state-dir", os.path.join(args.data_dir, "writer")]
        roles.append(Role("write", argv + (["--store", store] if store else []), stop_order=2, env=secret))
    selections = getattr(args, "venue_selections", {})  # "all" or a filter: the feed resolves it from the list
    # the feeds start once the writer reads out.ticks (tickagg/start_gate.py), so that ring never holds its start
    gate = None if args.no_writer else writer_reads(args.group)
    for exchange in exchanges:
        argv = ["feed", exchange, "--group", args.group, *deployment, "--state-dir",
                os.path.join(args.data_dir, "writer")]
        if simulator is not None:
            url = simulator.url(exchange) + getattr(args, "simulated_paths", {}).get(exchange, "")  # --config's protocol
            argv += ["--url", url, "--rest-url", simulator.url(exchange).replace("ws://", "http://", 1)]
            if exchange not in selections:
                argv += ["--symbols", ",".join(simulator.venue_stats(exchange)["symbols"])]
        roles.append(Role(f"feed-{exchange}", argv, stop_order=0, start_when=gate))
    supervisor = Supervisor(roles, os.path.join(args.data_dir, "logs"))
    try:
        metrics = _serve_metrics(args, exchanges, report, roles) if args.metrics_addr else None
    except OSError as exc:  # the address is taken or not ours: nothing started yet but the simulator
        if simulator is not None:
            simulator.stop()
        raise UsageError(f"--metrics-addr: cannot listen on {args.metrics_addr[0]}:{args.metrics_addr[1]}: "
                         f"{exc.strerror or exc}") from None
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    supervisor.start()
    print(f"tickagg run: group {args.group}, {len(exchanges)} feed(s){' from the simulator' if simulator else ''}, "
          f"logs in {supervisor.log_dir}; Ctrl-C stops", flush=True)
    status = _LazyStatus(args.group, exchanges, None if args.no_writer else report, supervisor.roles)
    deadline = time.monotonic() + args.seconds if args.seconds else None
    next_status = time.monotonic() + args.status_every
    try:
        while not stopping and (deadline is None or time.monotonic() < deadline):
            supervisor.check()
            if time.monotonic() >= next_status:
                next_status += args.status_every
                print(status.line(), flush=True)
            supervisor.wait(min(next_status, deadline or next_status))
    finally:
        # failing: down at the end (exited, waiting to restart), or restarted and not up for the last STABLE_S;
        # judged for a timed run that ran its time (a stop by signal is a normal end, whatever happened before)
        now = time.monotonic()
        failing = [] if deadline is None or stopping else [
            role for role in supervisor.roles if role.restart_at is not None or role.waiting_since is not None
            or (role.restarts and now - role.started < STABLE_S)]
        if simulator is not None:
            simulator.pause()
        time.sleep(1.0)  # let the last ticks pass through before stopping
        supervisor.stop()
        if simulator is not None:
            simulator.stop()
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
    print(status.line(final=True), flush=True)
    restarts = {role.name: role.restarts for role in supervisor.roles if role.restarts}
    if restarts:
        print(f"restarts: {restarts}", flush=True)
    if failing:
        for role in failing:
            state = ("never started (the writer did not read out.ticks)" if role.waiting_since is not None
                     else "was not running at the end" if role.restart_at is not None else "kept restarting")
            print(f"tickagg run: {role.name} {state} (exit codes {role.exit_codes[-5:]}); see {role.log_path}",
                  file=sys.stderr, flush=True)
        return 1
    return 0


class _LazyStatus:
    """tickagg/run_status.py's ``GroupStatus``, imported at the first line it prints: it reads the rings with
    NumPy (~10 MB of the supervisor's PSS), which a supervisor that prints no status line (``--status-every``
    longer than the run, as `tickagg bench e2e` asks) never needs."""

    def __init__(self, *args):
        self._args, self._status = args, None

    def line(self, final: bool = False) -> str:
        if self._status is None:
            from tickagg.run_status import GroupStatus

            self._status = GroupStatus(*self._args)
        return self._status.line(final)


def _serve_metrics(args: argparse.Namespace, exchanges: list[str], report: str, roles):
    """Start the Prometheus endpoint (tickagg/metrics_exporter.py) over the supervised group; its server."""
    from tickagg.group_snapshot import read_group
    from tickagg.metrics_exporter import GroupCollector, start_server

    collector = GroupCollector(args.group, snapshot=lambda: read_group(
        args.group, roles=roles, exchanges=exchanges, report=None if args.no_writer else report))
    server = start_server(collector, args.metrics_addr)
    host, port = server.server_address[:2]
    print(f"tickagg run: Prometheus metrics on http://{host if ':' not in host else f'[{host}]'}:{port}/metrics",
          flush=True)
    return server
