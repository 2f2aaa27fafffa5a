"""`tickagg features`: the live feature kernel offline, over a CSV of bars; --list prints the catalogue.

Every row becomes a BAR record and goes through ``aggregator.features.update``
(the function the aggregator calls at each bar close, with the same argument
types), one state per symbol, in file order.
Output: ts (and symbol if the input has it), then one column per catalogue
feature; values are written in shortest round-trip form (reading them back
gives the same float64), NaN (undefined: warm-up, zero range...) as an empty cell.
Input rules and defaults: aggregator/features/csv_bars.py.
"""
from __future__ import annotations

import argparse
import sys

HELP = "compute the 1,400 bar features over a CSV of bars (same kernel as the aggregator); --list prints the catalogue"

CHUNK_ROWS = 2048  # rows computed and written at a time (memory: 11 KB of features per row)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--list", action="store_true", help="print the catalogue: index, name, and its version")
    parser.add_argument("--input", metavar="CSV", help="bars: ts,open,high,low,close,volume[,buy_volume,sell_volume,vwap,count,symbol]; - for stdin")
    parser.add_argument("--output", metavar="CSV", default="-", help="features CSV (default: stdout)")


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _print_catalogue()
    if not args.input:
        print("tickagg features: give --input CSV (or --list)", file=sys.stderr)
        return 2
    from aggregator.features.csv_bars import BarsError, read_bars

    try:
        if args.input == "-":
            bars = read_bars(sys.stdin, "stdin")
        else:
            with open(args.input, newline="") as stream:
                bars = read_bars(stream, args.input)
    except OSError as exc:
        print(f"tickagg features: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 1
    except BarsError as exc:
        print(f"tickagg features: {exc}", file=sys.stderr)
        return 1
    try:
        if args.output == "-":
            _write_features(bars, sys.stdout)
        else:
            with open(args.output, "w", newline="") as stream:
                _write_features(bars, stream)
    except OSError as exc:
        print(f"tickagg features: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _print_catalogue() -> int:
    from aggregator.features.catalogue import CATALOGUE_VERSION, names

    catalogue = names()
    print(f"# tickagg feature catalogue version {CATALOGUE_VERSION}, {len(catalogue)} features")
    print("index\tname")
    for index, name in enumerate(catalogue):
        print(f"{index}\t{name}")
    return 0


def _write_features(bars, stream) -> None:
    import numpy as np

    from aggregator.features import FEATURE_COUNT, names, new_state
    from aggregator.features.batch import update_records
    from shm.pipeline_records import BAR

    header = ["ts"] + (["symbol"] if bars.symbols is not None else []) + list(names())
    stream.write(",".join(header) + "\n")
    n_rows = len(bars.ts)
    state = new_state(max(1, int(bars.slots.max()) + 1 if n_rows else 1))
    records = np.zeros(n_rows, BAR)
    records["interval_s"] = 60
    records["symbol_id"] = bars.slots
    for name, column in bars.columns.items():
        records[name] = column
    for begin in range(0, n_rows, CHUNK_ROWS):
        end = min(begin + CHUNK_ROWS, n_rows)
        out = np.empty((end - begin, FEATURE_COUNT))
        update_records(state, records[begin:end], bars.slots[begin:end], out)
        text = out.astype(str)  # numpy's float -> str is the shortest round-trip repr
        text[np.isnan(out)] = ""
        for j in range(end - begin):
            row = begin + j
            lead = [bars.ts[row]] + ([bars.symbols[row]] if bars.symbols is not None else [])
            stream.write(",".join(_quoted(lead)) + "," + ",".join(text[j]) + "\n")


def _quoted(fields: list[str]) -> list[str]:
    """CSV-quote text fields only when they need it (commas, quotes)."""
    return ['"' + f.replace('"', '""') + '"' if ("," in f or '"' in f or "\n" in f) else f for f in fields]
