"""`tickagg feed EXCHANGE`: one venue's feed process (what a systemd unit starts)."""
from __future__ import annotations

import argparse
import logging
import sys

from shm.names import group_argument

HELP = "run one exchange's feed: WebSocket trades -> normalized ticks in the exchange's ring"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from feeds.venues import VENUES

    parser.add_argument("exchange", choices=sorted(VENUES), help="the venue")
    parser.add_argument("--symbols", help="comma-separated symbols as the venue writes them (default: the venue's defaults)")
    parser.add_argument("--url", help="WebSocket base URL (default: the venue's production URL; the simulator prints its own)")
    parser.add_argument("--group", type=group_argument, default="default", help="process group: names the rings (default: default)")
    parser.add_argument("--stale-after", type=float, help="seconds of silence before a connection counts as dead (default: per venue)")
    parser.add_argument("--max-lifetime", type=float, help="switch connections before this age in seconds (default: per venue)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")


def run(args: argparse.Namespace) -> int:
    from feeds.loop import Feed
    from feeds.venues import venue
    from shm.segment import EXIT_REFUSED, SegmentError, SegmentRefusedError

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
    try:
        feed = Feed(venue(args.exchange), symbols, args.url, args.group, args.stale_after, args.max_lifetime)
    except SegmentError as exc:  # a ring or the symbol directory (RingError is one)
        print(f"tickagg feed: {exc}", file=sys.stderr)
        return EXIT_REFUSED if isinstance(exc, SegmentRefusedError) else 1
    feed.install_signal_handlers()
    try:
        feed.run()
    finally:
        feed.close()
    return 0
