"""``tickagg simulate``: local exchange servers speaking each venue's WebSocket protocol.

Prints one JSON line per venue (its URL, to pass to the venue module's
``url_for``), then the control address, then serves until SIGINT/SIGTERM,
``--seconds`` or a ``{"cmd":"stop"}`` on the control port (simulator/control.py),
and prints the final stats as one JSON line.
"""
from __future__ import annotations

import argparse
import os

from tickagg.args import port, positive_float

CLOCK_OFFSET_ENV = "TICKAGG_SIMULATOR_CLOCK_OFFSET"  # how `tickagg run --simulate` is given --clock-offset
HELP = "local exchange WebSocket servers (every venue's protocol) with fault injection and exact accounting"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchanges", default="all", help="comma-separated venues, or 'all' (default)")
    parser.add_argument("--rate", default="100",
                        help="trades per second per venue, 0 or 'max' = as fast as the sockets take them; "
                             "per venue: '100,okx=1000,binance=max' (default 100)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=0,
                        help="first venue's port, the others take the next ones (default 0: any free port)")
    parser.add_argument("--control-port", type=port, default=0, help="control port (default 0: any free port)")
    parser.add_argument("--symbols", default="",
                        help="symbols per venue as the venue writes them: 'binance=BTCUSDT,ETHUSDT;okx=BTC-USDT'")
    parser.add_argument("--universe", type=int, default=0, metavar="N",
                        help="N symbols spread over the venues within their per-connection limits (simulator/universe.py; "
                             "--symbols still sets a venue's own)")
    parser.add_argument("--arrivals", choices=("paced", "poisson"), default="paced",
                        help="paced: trades evenly spread (default); poisson: Poisson events with bursts, "
                             "Zipf-skewed over symbols, multi-trade frames where the venue batches (simulator/arrivals.py)")
    parser.add_argument("--zipf", type=float, default=1.2, help="poisson: symbol rank k weighs 1/k**ZIPF (default 1.2)")
    parser.add_argument("--seed", type=int, default=0, help="poisson: random seed (default 0)")
    parser.add_argument("--tick-us", type=float, default=250.0,
                        help="poisson: at most one batch of trades per venue this often (default 250 µs)")
    parser.add_argument("--clock-offset", type=_offset, default=os.environ.get(CLOCK_OFFSET_ENV) or "0",
                        metavar="SECONDS", help="the venues' clock runs this far ahead of the wall clock (negative: "
                        f"behind; default ${CLOCK_OFFSET_ENV} or 0): exchange times shift, bars close earlier")
    parser.add_argument("--seconds", type=positive_float, default=None, help="stop after this many seconds")
    parser.add_argument("--heartbeat-scale", type=positive_float, default=1.0,
                        help="multiply every venue keepalive period by this (tests use 0.1)")
    parser.add_argument("--watch-stdin", action="store_true",
                        help="stop when stdin closes (used by start_simulator: no orphan servers)")


def _offset(text: str) -> float:
    """Seconds, finite, within a day either way."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not -86400 <= seconds <= 86400:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds within a day")
    return seconds


def run(args: argparse.Namespace) -> int:
    import signal
    import sys

    import orjson

    from simulator.config import SimulatorConfig, parse_rates, parse_symbols, parse_venues
    from simulator.server import Simulator
    from simulator.universe import universe

    try:
        rate, rates = parse_rates(args.rate)
        venues = parse_venues(args.exchanges)
        symbols = {**(universe(args.universe, venues) if args.universe else {}), **parse_symbols(args.symbols)}
        config = SimulatorConfig(venues=venues, rate=rate, rates=rates, symbols=symbols, host=args.host,
                                 port=args.port, control_port=args.control_port, heartbeat_scale=args.heartbeat_scale,
                                 arrivals=args.arrivals, zipf=args.zipf, seed=args.seed, tick_us=args.tick_us,
                                 clock_offset_s=args.clock_offset)
    except ValueError as exc:
        print(f"tickagg simulate: {exc}", file=sys.stderr)
        return 2
    simulator = Simulator(config)
    try:
        simulator.open()
    except OSError as exc:
        print(f"tickagg simulate: cannot listen: {exc}", file=sys.stderr)
        simulator.close()
        return 1
    signal.signal(signal.SIGTERM, lambda *_: simulator.stop())  # before the URLs: a reader may stop us at once
    signal.signal(signal.SIGINT, lambda *_: simulator.stop())
    for name, endpoint in simulator.endpoints.items():
        print(orjson.dumps({"venue": name, "url": endpoint.url, "port": endpoint.port,
                            "symbols": list(endpoint.market.symbols)}).decode())
    host, port = simulator.control.address
    print(orjson.dumps({"control": f"{host}:{port}", "host": host, "port": port}).decode(), flush=True)
    if args.watch_stdin:
        simulator.watch_stdin()
    try:
        simulator.serve(args.seconds)
    finally:
        stats = simulator.stats()
        simulator.close()
        print(orjson.dumps({"stats": stats}).decode(), flush=True)
    return 0


if __name__ == "__main__":  # ``python -m simulator.simulate_command``: what start_simulator runs
    import sys

    from tickagg.args import Parser

    _parser = Parser(prog="tickagg simulate", description=HELP)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
