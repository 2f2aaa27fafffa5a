"""`tickagg rings [GROUP]`: list rings in shared memory, or remove a group's."""
from __future__ import annotations

import argparse
import sys

from shm.names import group_argument

HELP = "list the shared-memory rings (capacity, head, tail, lag, dropped, liveness); --remove GROUP deletes them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", nargs="?", type=group_argument, help="process group (default: all groups)")
    parser.add_argument("--json", action="store_true", help="one JSON object per ring")
    parser.add_argument("--remove", metavar="GROUP", type=group_argument,
                        help="delete every ring, the symbol directory and the latency histograms of GROUP "
                             "(that group's only, never G.x's)")


def run(args: argparse.Namespace) -> int:
    import orjson

    from shm import segment
    from shm.names import group_segments
    from shm.ring import Ring, RingDamagedError, RingError, group_rings

    if args.remove:
        removed, failed = [], []
        for name in group_segments(args.remove):
            try:
                if segment.remove(name):
                    removed.append(name)
            except OSError as exc:  # e.g. another user's file, and we are not root
                failed.append(name)
                print(f"tickagg rings: cannot remove {segment.path_of(name)}: {exc.strerror}", file=sys.stderr)
        print(f"removed {len(removed)} segment(s) of group {args.remove}: {' '.join(removed) or '-'}")
        return 1 if failed else 0
    rows = []
    for name in group_rings(args.group):
        try:
            with Ring(name, numba=False) as ring:
                rows.append(ring.status())
        except (RingError, OSError, ValueError) as exc:  # one bad ring never hides the others
            rows.append({"ring": name, "error": str(exc), "damaged": isinstance(exc, RingDamagedError)})
    if args.json:
        for row in rows:
            print(orjson.dumps(row).decode())
        return 0
    if not rows:
        print(f"no rings{' in group ' + args.group if args.group else ''} (looked in {segment.SHM_DIR})")
        return 0
    print(f"{'ring':36} {'capacity':>9} {'head':>12} {'tail':>12} {'lag':>9} {'dropped':>9}  producer        consumer")
    for row in rows:
        if "error" in row:
            print(f"{row['ring']:36} {'damaged' if row.get('damaged') else 'error'}: {row['error']}")
            continue
        print(
            f"{row['ring']:36} {row['capacity']:>9} {row['head']:>12} {row['tail']:>12} {row['lag']:>9} {row['dropped']:>9}"
            f"  {_liveness(row, 'producer'):15} {_liveness(row, 'consumer')}"
        )
        if row["problem"]:
            print(f"    damaged: {row['problem']}")
        for counter in ("producer_resyncs", "consumer_resyncs", "skipped"):
            if row[counter]:
                print(f"    {counter} = {row[counter]}")
        for metric, value in row["metrics"].items():
            print(f"    {metric} = {value}")
    return 0


def _liveness(row: dict, role: str) -> str:
    if row[f"{role}_alive"]:
        return f"pid {row[f'{role}_pid']} live"
    return "none" if not row[f"{role}_pid"] else f"pid {row[f'{role}_pid']} dead"
