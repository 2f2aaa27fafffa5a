"""``tickagg parse EXCHANGE``: raw frames on stdin -> normalized live trades as JSON lines.

One frame per input line, all through one Parser (state such as Bitfinex chanIds
carries over). A bad frame prints ``line N: <kind>: <message>`` on stderr and the
command goes on; the exit code is 0. Output is written and flushed once per chunk
of input read, so the command is both fast on files and prompt inside a pipe.
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

    from feeds.trade import SIDE_NAMES, FrameError

    name = args.exchange
    parser = venue(name).Parser()
    stdout, stderr = sys.stdout.buffer, sys.stderr

    def record(trade, **extra) -> bytes:
        return orjson.dumps({"exchange": name, "symbol": trade.symbol, "price": trade.price, "size": trade.size,
                             "side": SIDE_NAMES[trade.side], "ts_ns": trade.ts_ns, "trade_id": trade.trade_id,
                             **extra}) + b"\n"

    for batch in _batches(sys.stdin.buffer):
        out = []
        for line_no, frame in batch:
            try:
                out.extend(record(trade) for trade in parser.parse(frame))
            except FrameError as exc:
                stderr.write(f"line {line_no}: {exc.kind}: {exc}\n")
            parser.replies.clear()  # nothing to answer: there is no connection
            if parser.replayed:
                if args.replayed:
                    out.extend(record(trade, replayed=True) for trade in parser.replayed)
                parser.replayed.clear()
        if out:
            stdout.write(b"".join(out))
            stdout.flush()
        stderr.flush()
    return 0
