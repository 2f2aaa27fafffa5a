"""`tickagg tail RING`: consume a ring's records and print one JSON object per record."""
from __future__ import annotations

import argparse
import sys
import time

from shm.names import group_argument
from tickagg.args import positive_int

HELP = "consume records from a ring and print them as JSON lines (like kafkacat); --peek reads without consuming"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ring", help="ring name: tickagg.GROUP.NAME, or NAME with --group")
    parser.add_argument("--group", default="default", type=group_argument, help="process group for a short ring name (default: default)")
    parser.add_argument("--count", type=positive_int, default=None, help="stop after N records (default: follow forever)")
    parser.add_argument("--exit", action="store_true", help="stop when the ring is empty instead of waiting")
    parser.add_argument("--peek", action="store_true", help="read as a monitor: do not consume, do not commit the tail")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import orjson

    from shm import names, segment
    from shm.record_json import RecordFormatter
    from shm.ring import CONSUMER, MONITOR, PREFIX, Ring, RingError, ring_name

    try:
        name = args.ring if args.ring.startswith(PREFIX) else ring_name(args.group, args.ring)
        group, _ = names.split(name) or (None, None)
        if group is None:
            raise segment.SegmentError(f"bad ring name {args.ring!r}: tickagg.GROUP.RING, or RING with --group; "
                                       f"{names.GROUP_RULE}")
    except segment.SegmentError as exc:
        print(f"tickagg tail: {exc}", file=sys.stderr)
        return 2
    try:
        ring = Ring(name, MONITOR if args.peek else CONSUMER, numba=False)
    except RingError as exc:
        print(f"tickagg tail: {exc}", file=sys.stderr)
        return 1
    try:
        formatter = RecordFormatter(ring.dtype, group)
    except segment.SegmentError as exc:  # the symbol directory, refused
        ring.close()
        print(f"tickagg tail: {exc}", file=sys.stderr)
        return 1
    out = np.zeros(1024, dtype=ring.dtype)
    remaining = args.count
    write = sys.stdout.buffer.write
    with ring:
        while remaining is None or remaining > 0:
            want = len(out) if remaining is None else min(len(out), remaining)
            count = ring.peek_batch(out[:want]) if args.peek else ring.pop_batch(out[:want])
            if count == 0:
                if args.exit:
                    break
                time.sleep(0.01)
                continue
            write(b"".join(orjson.dumps(formatter.to_dict(record)) + b"\n" for record in out[:count]))
            sys.stdout.flush()
            if not args.peek:
                ring.commit()  # printed: handled
            if remaining is not None:
                remaining -= count
    return 0
