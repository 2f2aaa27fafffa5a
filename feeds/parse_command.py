"""``tickagg parse EXCHANGE``: raw frames on stdin -> normalized live trades as JSON lines.

One frame per input line, all through one Parser (state such as Bitfinex chanIds
carries over); ``--protocol advanced`` reads Coinbase Advanced Trade frames. A bad frame prints ``line N: <kind>: <message>`` on stderr and the
command goes on with the next line: ``kind`` is the feed's counter name
(feeds/metrics.py), ``other`` for a parser failure that is not a ``FrameError``.
A trade whose price or size breaks the feed's default plausibility rules
(feeds/plausible.py; there is no receive time, so no time window), or whose
symbol is not text, is left out with a line of its own. Exit status: 0 if every frame was good, 1 if any line
was reported (2 for bad arguments, as argparse does). Output is written and
flushed once per chunk of input read, so the command is both fast on files and
prompt inside a pipe.
"""
from __future__ import annotations

import argparse
import sys
from typing import BinaryIO, Iterator

from feeds.venues import VENUES, venue

HELP = "parse raw WebSocket frames (one per line on stdin) into normalized trades (JSON lines)"

_CHUNK = 1 << 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exchange", choices=sorted(VENUES), help="venue whose frames are on stdin")
    parser.add_argument("--replayed", action="store_true",
                        help='also print the trades a venue replays on subscribe, marked "replayed": true')
    parser.add_argument("--protocol", choices=("exchange", "advanced"),
                        help="coinbase only: exchange (ws-feed matches, the default) or advanced (Advanced Trade market_trades)")


def _batches(stream: BinaryIO) -> Iterator[list[tuple[int, bytes]]]:
    """Non-empty lines as (line number, frame), one list per chunk read from ``stream``."""
    line_no = 0
    pending = b""
    while True:
        chunk = stream.read1(_CHUNK)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop() if chunk else b""
        batch = []
        for line in lines:
            line_no += 1
            line = line.rstrip(b"\r")
            if line:
                batch.append((line_no, line))
        yield batch
        if not chunk:
            return


def run(args: argparse.Namespace) -> int:
    import orjson

    from feeds.plausible import Limits
    from feeds.trade import SIDE_NAMES, FrameError, Trade, shown

    from tickagg.args import UsageError

    name = args.exchange
    try:
        parser = venue(name, args.protocol).Parser()
    except ValueError as exc:
        raise UsageError(f"--protocol: {exc}") from None
    stdout, stderr = sys.stdout.buffer, sys.stderr

    def record(trade, **extra) -> bytes:
        return orjson.dumps({"exchange": name, "symbol": trade.symbol, "price": trade.price, "size": trade.size,
                             "side": SIDE_NAMES[trade.side], "ts_ns": trade.ts_ns, "trade_id": trade.trade_id,
                             **extra}) + b"\n"

    limits, bad_lines = Limits(), 0
    for batch in _batches(sys.stdin.buffer):
        out = []
        for line_no, frame in batch:
            try:
                for trade in map(Trade._make, parser.parse(frame)):  # named fields (parsers give plain tuples)
                    # a symbol that is not text: the feed counts it as unknown_symbol (feeds/ticks.py)
                    kind = limits.value_error(trade.price, trade.size) if type(trade.symbol) is str else "unknown_symbol"
                    if kind is None:
                        out.append(record(trade))
                    else:
                        bad_lines += 1
                        stderr.write(f"line {line_no}: {kind}: {shown(trade.symbol)} trade {shown(trade.trade_id)} "
                                     f"(price {trade.price!r}, size {trade.size!r})\n")
            except FrameError as exc:
                bad_lines += 1
                stderr.write(f"line {line_no}: {exc.kind}: {exc}\n")
            except Exception as exc:  # a parser bug must cost one line, never the rest of the input
                bad_lines += 1
                stderr.write(f"line {line_no}: other: parser failed: {type(exc).__name__}: {shown(exc)}\n")
            parser.replies.clear()  # nothing to answer: there is no connection
            if parser.replayed:
                if args.replayed:
                    out.extend(record(trade, replayed=True) for trade in map(Trade._make, parser.replayed))
                parser.replayed.clear()
        if out:
            stdout.write(b"".join(out))
            stdout.flush()
        stderr.flush()
    return 1 if bad_lines else 0
