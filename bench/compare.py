"""`tickagg bench compare A.json B.json`: every figure of two bench results side by side, ratio B/A, better or worse.

Both files are flattened to dotted figure paths (``ring.latency_ns.p99``,
``writer.stores.chdb.rows_per_s``); of a `bench all` document only its
``benches`` are compared (a single bench's ``--json`` output works too). Which
way is better is read from the figure's name: ``*_per_s`` and the ring's
records/s are higher-better; times (``_ms``, ``_us``, ``_ns``, ``latency``),
CPU, memory (``pss``, ``rss``, ``_mb``) and lost, duplicated or dropped counts
are lower-better; anything else (settings such as ``seconds``) is shown with
its ratio and no verdict. The files may come from anywhere: anything but a
JSON object of figures is refused with one line and exit status 2.
"""
from __future__ import annotations

import argparse
import math
import re

from tickagg.args import UsageError, non_negative_float

HELP = "two bench results (bench all or any bench's --json) side by side: each figure, ratio B/A, better or worse"
MAX_FILE_BYTES = 64 * 2**20
MAX_DEPTH = 16
# records/s keyed by batch size (bench ring): the parent names the figure
THROUGHPUT_PARENTS = {"ring", "mp_queue", "ring_plain_producer"}
LABEL = re.compile(r"^(\d+|p\d+|median|max|min|mean)$")
HIGHER = re.compile(r"per_s($|_)|_vs_")
LOWER = re.compile(r"(^|_)(ms|us|ns|mb|s)(_|$)|latency|cpu(_|$)|pss|rss|lost|duplicat|dropped|resync|skipped|nan_share")
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A.json", help="the baseline")
    parser.add_argument("b", metavar="B.json", help="the result compared with it")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--threshold", type=non_negative_float, default=0.05,
                        help="a ratio within 1 +- this is marked 'same' (default 0.05)")


def load(path: str) -> dict:
    """A bench result file as a dict; UsageError (one line) for anything else."""
    import orjson

    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise UsageError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB, not a bench result")
    try:
        doc = orjson.loads(raw)  # refuses NaN, Infinity and nesting deeper than 1024
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a JSON {type(doc).__name__}, not an object of bench figures")
    return doc


def figures(doc: dict, where: str = "") -> dict[str, float]:
    """Dotted path -> number for every number in ``doc`` (a `bench all` document: its ``benches``)."""
    if "benches" in doc:
        if not isinstance(doc["benches"], dict):
            raise UsageError(f"{where or 'input'}: 'benches' is a {type(doc['benches']).__name__}, not an object")
        doc = doc["benches"]
    flat: dict[str, float] = {}
    stack = [("", doc, 0)]
    while stack:
        prefix, node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UsageError(f"{where or 'input'}: nested deeper than {MAX_DEPTH} levels at {prefix!r}, not a bench result")
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                stack.append((path, value, depth + 1))
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                flat[path] = value
    return flat


def _name(path: str) -> tuple[str, str]:
    """(the figure's own name, its parent's): a label leaf (``p99``, ``64``) is named by its parent."""
    parts = path.split(".")
    if LABEL.match(parts[-1]) and len(parts) > 1:
        return parts[-2], parts[-3] if len(parts) > 2 else ""
    return parts[-1], parts[-2] if len(parts) > 1 else ""


def direction(path: str) -> str | None:
    """"higher" or "lower" (which way is better) from the figure's name, or None when the name does not say."""
    name, parent = _name(path)
    if HIGHER.search(name) or (name in THROUGHPUT_PARENTS and path.split(".")[-1].isdigit()):
        return "higher"
    if LOWER.search(name):
        return "lower"
    if parent and LOWER.search(parent) and not HIGHER.search(parent):
        return "lower"
    return None


def seconds_per_unit(path: str) -> float | None:
    """Seconds per unit of a time figure (``latency_ns.p99`` -> 1e-9, ``p99_ms`` -> 1e-3), None if not a time."""
    name, parent = _name(path)
    for word in (name, parent):
        for unit, scale in UNIT_SECONDS.items():
            if re.search(rf"(^|_){unit}(_|$)", word) and not HIGHER.search(word):
                return scale
    return None


def compare(a: dict, b: dict, threshold: float = 0.05) -> dict:
    """Every figure in both, with ratio B/A and verdict; the paths found in only one of them."""
    fa, fb = figures(a, "A"), figures(b, "B")
    for side, flat in (("A", fa), ("B", fb)):
        if not flat:
            raise UsageError(f"{side} has no numeric figures: not a bench result")
    rows = []
    for path in sorted(fa.keys() & fb.keys()):
        va, vb = fa[path], fb[path]
        ratio = 1.0 if va == vb else (vb / va if va else None)
        better = direction(path)
        if ratio is None:
            change = None
        elif abs(ratio - 1.0) <= threshold:
            change = "same"
        elif better is None:
            change = None
        else:
            change = "better" if (ratio > 1.0) == (better == "higher") else "worse"
        rows.append({"figure": path, "a": va, "b": vb, "ratio": ratio, "better": better, "change": change})
    machine = {key: [a.get(key), b.get(key)] for key in ("machine", "git_revision", "python", "numba", "numpy")
               if a.get(key) != b.get(key)}
    return {"figures": rows, "only_in_a": sorted(fa.keys() - fb.keys()), "only_in_b": sorted(fb.keys() - fa.keys()),
            "differs": machine}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown(name: str) -> str:
    """A figure's path for the terminal: a result file is input, and no escape sequence in it reaches the screen."""
    return _CONTROL.sub("?", name)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 or float(value).is_integer() else f"{value:.4g}"


def run(args: argparse.Namespace) -> int:
    import orjson

    result = compare(load(args.a), load(args.b), args.threshold)
    if args.json:
        print(orjson.dumps(result).decode())
        return 0
    width = max((len(_shown(row["figure"])) for row in result["figures"]), default=6)
    print(f"{'figure':<{width}} {'A':>14} {'B':>14} {'B/A':>8}  better  change")
    for row in result["figures"]:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        print(f"{_shown(row['figure']):<{width}} {_number(row['a']):>14} {_number(row['b']):>14} {ratio:>8}  "
              f"{row['better'] or '?':<6}  {row['change'] or ''}")
    for side in ("a", "b"):
        if result[f"only_in_{side}"]:
            print(f"only in {side.upper()}: " + ", ".join(map(_shown, result[f"only_in_{side}"])))
    for key, (va, vb) in result["differs"].items():
        print(f"{key} differs: A {orjson.dumps(va).decode()} / B {orjson.dumps(vb).decode()}")
    return 0
