"""`tickagg feed EXCHANGE`: one venue's feed process (what a systemd unit starts)."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from feeds.batching import DEFAULT_WAIT_US, MAX_WAIT_US
from shm.names import group_argument
from tickagg import config, config_schema, stop_during_start
from tickagg.args import (UsageError, bounded_float, bounded_int, log_level, name_list, non_negative_float,
                          positive_float, positive_int, power_of_two, ws_url)
from tickagg.priority import HIGHEST, LOWEST, set_nice

HELP = "run one exchange's feed: WebSocket trades -> normalized ticks in the exchange's ring"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from feeds.venues import VENUES

    parser.add_argument("exchange", choices=sorted(VENUES), help="the venue")
    parser.add_argument("--symbols", type=_symbols,
                        help="comma-separated symbols as the venue writes them, or all: every instrument the venue "
                             "lists as trading (default: the venue's defaults, or the deployment file's symbols)")
    parser.add_argument("--rest-url", type=config_schema.rest_url,
                        help="the venue's REST base, for its instrument list when symbols are all or a filter "
                             "(default: the file's rest_url, else the venue's public API)")
    parser.add_argument("--state-dir", default=os.environ.get("TICKAGG_STATE_DIR", "./data/writer"),
                        help="where the last good instrument-list resolution is kept, as "
                             "STATE_DIR/GROUP/universe/VENUE.json (default $TICKAGG_STATE_DIR or ./data/writer)")
    parser.add_argument("--url", type=ws_url, help="WebSocket base URL (default: the venue's production URL; the simulator prints its own)")
    parser.add_argument("--protocol", choices=config.PROTOCOLS,
                        help="coinbase only: exchange (ws-feed matches, the default) or advanced (Advanced Trade "
                             "market_trades); default: advanced when the URL's host or path contains advanced-trade")
    parser.add_argument("--group", type=group_argument, default="default", help="process group: names the rings (default: default)")
    parser.add_argument("--stale-after", type=positive_float, help="seconds of silence before a connection counts as dead (default: per venue)")
    parser.add_argument("--max-lifetime", type=non_negative_float,
                        help="switch connections before this age in seconds (default: per venue; 0: never)")
    parser.add_argument("--connection-symbols", type=positive_int, metavar="N",
                        help="at most N symbols per connection (default and upper bound: the venue's limit, "
                             "feeds/connection_limits.py)")
    parser.add_argument("--nice", type=bounded_int(LOWEST, HIGHEST),
                        help="scheduling priority, -20 (first) to 19 (default: as started; below the current one needs "
                             "root or CAP_SYS_NICE, else logged and left); -10 (the systemd unit's): frames are read "
                             "sooner on a busy machine")
    parser.add_argument("--log-level", type=log_level, default="INFO", help="logging level (default INFO)")
    parser.add_argument("--ring-capacity", type=power_of_two, default=None,
                        help="records in the tick ring when it is created (a power of two; default: "
                             "--buffer-seconds x --venue-peak-rate, 65536)")
    parser.add_argument("--buffer-seconds", type=bounded_float(0, 600, low_open=True),
                        help="the tick ring holds this many seconds at --venue-peak-rate when it is created (default 4)")
    parser.add_argument("--venue-peak-rate", type=bounded_float(0, 1e8, low_open=True),
                        help="ticks/s this venue may burst to, for --buffer-seconds (default 16000)")
    parser.add_argument("--batch-wait-us", type=bounded_float(0, MAX_WAIT_US), default=None, metavar="US",
                        help="while traffic is light, wait this long before a read so frames gather (feeds/batching.py; "
                             f"their latency grows by up to it; 0: off, lowest latency; at most {MAX_WAIT_US:g}; default "
                             f"feeds.batch_wait_us, $TICKAGG_FEED_BATCH_WAIT_US or {DEFAULT_WAIT_US:g})")
    config.add_argument(parser)
    parser.add_argument("--max-clock-skew", default="300,10", metavar="BEHIND,AHEAD",
                        help="seconds a trade's exchange time may lie before and after its receive time; "
                             "one number for both (default 300,10)")
    parser.add_argument("--price-range", default="1e-12,1e12", metavar="MIN,MAX",
                        help="plausible trade prices (default 1e-12,1e12)")
    parser.add_argument("--size-range", default="1e-12,1e15", metavar="MIN,MAX",
                        help="plausible trade sizes (default 1e-12,1e15)")


def limits_from(args: argparse.Namespace):
    """The plausibility rules (feeds/plausible.py) the options ask for; ValueError naming a bad option."""
    from feeds.plausible import Limits, parse_pair

    behind, ahead = parse_pair(args.max_clock_skew, "--max-clock-skew")
    min_price, max_price = parse_pair(args.price_range, "--price-range")
    min_size, max_size = parse_pair(args.size_range, "--size-range")
    return Limits(behind, ahead, min_price, max_price, min_size, max_size)


def default_wait_us(environ: dict[str, str] | None = None) -> float:
    """The read batching wait of a feed whose flag does not say: ``feeds.batch_wait_us`` as the environment
    (``environ``; default this process's) gives it (``TICKAGG_FEED_BATCH_WAIT_US``, ``TICKAGG__FEEDS__BATCH_WAIT_US``),
    else ``DEFAULT_WAIT_US``; ConfigError, naming the variable and the key, for a value out of 0 to ``MAX_WAIT_US``.
    (Here, not in feeds/batching.py: only a process's command module reads the configuration.)"""
    return config.load(None, environ).defaults_for("feed").get("batch_wait_us", DEFAULT_WAIT_US)


def run(args: argparse.Namespace) -> int:
    from feeds.loop import Feed
    from feeds.venues import venue
    from shm.ring_sizing import RingSizing
    from shm.segment import EXIT_REFUSED, SegmentError, SegmentRefusedError

    stop_asked = stop_during_start.note()  # a stop before the feed's own handlers: a clean one
    deployment = getattr(args, "deployment", None)  # the venue's part of the file: under the venue's own flags
    if deployment is not None:
        args.symbols = args.symbols or deployment.venue_symbols(args.exchange)
        args.url = args.url or deployment.venue(args.exchange, "url")
        args.protocol = args.protocol or deployment.venue(args.exchange, "protocol")
        args.rest_url = args.rest_url or deployment.venue(args.exchange, "rest_url")
    try:
        module = venue(args.exchange, args.protocol, args.url)
    except ValueError as exc:
        raise UsageError(f"--protocol: {exc}") from None
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    set_nice(args.nice)
    if stop_asked:
        return 0
    if args.symbols is not None and not isinstance(args.symbols, list):  # "all" or a filter: the venue's list
        resolved = _resolve(args)
        if resolved is None:
            return 1
        args.symbols = resolved
    check_symbols(module, args.symbols or list(module.DEFAULT_SYMBOLS), args.url or module.URL,
                  args.connection_symbols)
    symbols = args.symbols
    try:
        limits = limits_from(args)
    except ValueError as exc:
        print(f"tickagg feed: {exc}", file=sys.stderr)
        return 2
    sizing = RingSizing.given(buffer_seconds=args.buffer_seconds, venue_peak_rate=args.venue_peak_rate)
    try:
        capacity = args.ring_capacity or sizing.tick_capacity()
    except ValueError as exc:
        raise UsageError(f"--buffer-seconds x --venue-peak-rate: {exc}") from None
    batch_wait_us = DEFAULT_WAIT_US if args.batch_wait_us is None else args.batch_wait_us  # the flag, or feeds.batch_wait_us
    try:
        feed = Feed(module, symbols, args.url, args.group, args.stale_after, args.max_lifetime, limits=limits,
                    ring_capacity=capacity, per_connection=args.connection_symbols, batch_wait_us=batch_wait_us)
    except SegmentError as exc:  # a ring or the symbol directory (RingError is one)
        print(f"tickagg feed: {exc}", file=sys.stderr)
        return EXIT_REFUSED if isinstance(exc, SegmentRefusedError) else 1
    feed.install_signal_handlers()
    if stop_asked:
        feed.stop()  # run() returns at once: a clean stop
    try:
        feed.run()
    finally:
        feed.close()
    return 0


def _symbols(text: str) -> list[str] | str:
    return "all" if text.strip() == "all" else name_list(text)


def _resolve(args: argparse.Namespace) -> list[str] | None:
    """The symbols ``"all"`` or the file's filter stands for now (feeds/universe.py); None (after saying why on
    stderr) when neither the venue nor the last good resolution can tell."""
    from feeds.instruments import REST_URLS
    from feeds.universe import UniverseError, resolve

    from shm.symbols import ENTRY_BYTES

    cache = os.path.join(args.state_dir, args.group, "universe")
    try:
        symbols = resolve(args.exchange, args.symbols, args.rest_url or REST_URLS[args.exchange], cache)
    except UniverseError as exc:
        print(f"tickagg feed: {exc} (and no earlier resolution in {cache})", file=sys.stderr)
        return None
    fits = [s for s in symbols if len(f"{args.exchange}:{s}".encode()) <= ENTRY_BYTES - 1]
    if len(fits) < len(symbols):
        logging.getLogger("tickagg.universe").warning(
            "%s: %d listed symbol(s) longer than the symbol directory takes: left out", args.exchange,
            len(symbols) - len(fits))
    return fits


def check_symbols(module, symbols: list[str], url: str, per_connection: int | None = None) -> None:
    """``UsageError`` unless each symbol fits the symbol directory and the connections the venue's limits
    split ``symbols`` into (feeds/connection_limits.py) are each one the venue takes, and no more of them
    than the venue allows at once."""
    from feeds.connection_limits import limits_for, split
    from shm.symbols import ENTRY_BYTES

    for symbol in symbols:
        if len(f"{module.NAME}:{symbol}".encode()) > ENTRY_BYTES - 1:
            room = ENTRY_BYTES - 2 - len(module.NAME.encode())
            raise UsageError(f"--symbols: {symbol[:70]!r} is longer than the {room} bytes a {module.NAME} symbol may have")
    limits = limits_for(module, per_connection)
    chunks = split(symbols, limits)
    if limits.max_connections is not None and len(chunks) > limits.max_connections:
        raise UsageError(f"--symbols: {len(symbols)} {module.NAME} symbols need {len(chunks)} connections of at most "
                         f"{limits.per_connection}; the venue allows {limits.max_connections}")
    try:  # the venue's own limits (e.g. Binance 1,024 streams, Bitfinex 25 channels per connection)
        for chunk in chunks:
            module.url_for(url, chunk)
            module.subscribe_messages(chunk)
    except ValueError as exc:
        raise UsageError(f"--symbols: {exc}") from None
