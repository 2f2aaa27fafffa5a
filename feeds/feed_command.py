"""`tickagg feed EXCHANGE`: one venue's feed process (what a systemd unit starts)."""
from __future__ import annotations

import argparse
import logging
import sys

from shm.names import group_argument
from tickagg.args import UsageError, log_level, name_list, non_negative_float, positive_float, ws_url

HELP = "run one exchange's feed: WebSocket trades -> normalized ticks in the exchange's ring"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from feeds.venues import VENUES

    parser.add_argument("exchange", choices=sorted(VENUES), help="the venue")
    parser.add_argument("--symbols", type=name_list, help="comma-separated symbols as the venue writes them (default: the venue's defaults)")
    parser.add_argument("--url", type=ws_url, help="WebSocket base URL (default: the venue's production URL; the simulator prints its own)")
    parser.add_argument("--group", type=group_argument, default="default", help="process group: names the rings (default: default)")
    parser.add_argument("--stale-after", type=positive_float, help="seconds of silence before a connection counts as dead (default: per venue)")
    parser.add_argument("--max-lifetime", type=non_negative_float,
                        help="switch connections before this age in seconds (default: per venue; 0: never)")
    parser.add_argument("--log-level", type=log_level, default="INFO", help="logging level (default INFO)")


def run(args: argparse.Namespace) -> int:
    from feeds.loop import Feed
    from feeds.venues import venue
    from shm.segment import EXIT_REFUSED, SegmentError, SegmentRefusedError

    module = venue(args.exchange)
    check_symbols(module, args.symbols or list(module.DEFAULT_SYMBOLS), args.url or module.URL)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    symbols = args.symbols
    try:
        feed = Feed(module, symbols, args.url, args.group, args.stale_after, args.max_lifetime)
    except SegmentError as exc:  # a ring or the symbol directory (RingError is one)
        print(f"tickagg feed: {exc}", file=sys.stderr)
        return EXIT_REFUSED if isinstance(exc, SegmentRefusedError) else 1
    feed.install_signal_handlers()
    try:
        feed.run()
    finally:
        feed.close()
    return 0


def check_symbols(module, symbols: list[str], url: str) -> None:
    """``UsageError`` unless one connection of the venue takes ``symbols`` and each fits the symbol directory."""
    from shm.symbols import ENTRY_BYTES

    for symbol in symbols:
        if len(f"{module.NAME}:{symbol}".encode()) > ENTRY_BYTES - 1:
            room = ENTRY_BYTES - 2 - len(module.NAME.encode())
            raise UsageError(f"--symbols: {symbol[:70]!r} is longer than the {room} bytes a {module.NAME} symbol may have")
    try:  # the venue's own limits (e.g. Binance 1,024 streams, Bitfinex 25 channels per connection)
        module.url_for(url, symbols)
        module.subscribe_messages(symbols)
    except ValueError as exc:
        raise UsageError(f"--symbols: {exc}") from None
