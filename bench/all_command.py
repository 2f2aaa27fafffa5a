"""`tickagg bench all [--only a,b] [--quick] [--out DIR]`: every bench in turn, one JSON document (and a PNG).

Each bench runs as its own ``tickagg bench NAME --json`` subprocess (so one
that crashes or hangs costs only its own figures: it is recorded as
``{"error": ...}``, the rest go on, and the exit status is 1). The document::

  {"machine": {"cpu_model", "cores", "memory_gb", "kernel"}, "python", "numba", "numpy",
   "git_revision" (null outside a git tree), "git_dirty", "started_at", "settings": {bench: [args]},
   "benches": {bench: its --json object, or {"error": "...", "seconds": s}}}

Without ``--out`` it is printed on stdout; with ``--out DIR`` it goes to
``DIR/bench-<rev>-<time>.json`` beside ``.png`` (bench/report_plot.py).
``--quick`` runs each bench with short settings (a smoke run, not figures to
quote); ``--args NAME="--seconds 3"`` adds a bench's own options.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata

from bench.command import TARGETS
from tickagg.args import UsageError, name_list, positive_float

HELP = "every bench (or --only some) in turn: one JSON with the machine, versions, git revision and every figure; --out DIR adds a PNG"
BENCHES = tuple(name for name in TARGETS if name not in ("all", "compare"))
QUICK = {  # short settings per bench: seconds, not minutes
    "ring": ["--seconds", "0.2", "--repeats", "1", "--samples", "3000"],
    "feed": ["--seconds", "0.5", "--drops", "2"],
    "fanin": ["--seconds", "2", "--symbols-per-exchange", "10"],
    "features": ["--symbols", "200", "--warmup-bars", "5", "--repeats", "3"],
    "writer": ["--seconds", "3", "--latency-seconds", "1", "--rate", "20000"],
    "outage": ["--seconds", "2", "--warmup", "1", "--after", "1", "--rate", "20000"],
    "e2e": ["--rate", "2000", "--seconds", "3", "--idle-seconds", "1", "--warmup", "1", "--symbols", "100",
            "--no-closeout"],
}
ERROR_TAIL = 2000  # characters of a failed bench's stderr kept in the document
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _benches(text: str) -> list[str]:
    names = name_list(text)
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} is not a bench: use {', '.join(BENCHES)}")
    return list(dict.fromkeys(names))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", type=_benches, default=list(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--out", default=None, help="write bench-<rev>-<time>.json and .png into this folder (else: JSON on stdout)")
    parser.add_argument("--quick", action="store_true", help="short settings for every bench (a smoke run)")
    parser.add_argument("--args", action="append", default=[], metavar="NAME=OPTIONS",
                        help='more options for one bench, e.g. --args feed="--rate 50000" (repeatable)')
    parser.add_argument("--timeout", type=positive_float, default=1800.0, help="seconds one bench may take (default 1800)")


def machine() -> dict:
    """CPU model, cores, memory and kernel of this machine (from /proc where Linux has it)."""
    cpu_model = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu_model)
    except OSError:
        pass
    memory_gb = None
    try:
        with open("/proc/meminfo") as f:
            kib = next((int(line.split()[1]) for line in f if line.startswith("MemTotal:")), None)
        memory_gb = round(kib / 2**20, 1) if kib else None
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu_model": cpu_model, "cores": os.cpu_count(), "memory_gb": memory_gb, "kernel": platform.release()}


def git_state(where: str = REPO) -> tuple[str | None, bool | None]:
    """(HEAD's revision, whether the work tree has changes) of the source tree, (None, None) outside git."""
    def git(*argv: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", where, *argv], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    if not revision:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return revision, (bool(status) if status is not None else None)


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_bench(name: str, options: list[str], timeout: float) -> dict:
    """One bench as a subprocess: its JSON object, or {"error": ...}."""
    import orjson

    command = [sys.executable, "-m", "tickagg", "bench", name, "--json", *options]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout:g} s (killed)", "seconds": round(timeout, 1)}
    seconds = round(time.monotonic() - started, 1)
    stderr = done.stderr.decode(errors="replace")[-ERROR_TAIL:]
    if done.returncode != 0:
        return {"error": f"exit status {done.returncode}: {stderr.strip()}", "seconds": seconds}
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        result = orjson.loads(lines[-1]) if lines else None
    except orjson.JSONDecodeError as exc:
        return {"error": f"last line of its output is not JSON ({exc}): {stderr.strip()}", "seconds": seconds}
    if not isinstance(result, dict):
        return {"error": "its output is not a JSON object", "seconds": seconds}
    return result


def _extra_args(items: list[str]) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = {}
    for item in items:
        name, sep, options = item.partition("=")
        if not sep or name not in BENCHES:
            raise UsageError(f"--args {item!r}: give NAME=OPTIONS with NAME one of {', '.join(BENCHES)}")
        try:
            extra.setdefault(name, []).extend(shlex.split(options))
        except ValueError as exc:
            raise UsageError(f"--args {item!r}: {exc}") from None
    return extra


def run(args: argparse.Namespace) -> int:
    import orjson

    extra = _extra_args(args.args)
    if args.out is not None:
        os.makedirs(args.out, exist_ok=True)
    revision, dirty = git_state()
    started = datetime.datetime.now(datetime.timezone.utc)
    settings = {name: (QUICK[name] if args.quick else []) + extra.get(name, []) for name in args.only}
    doc = {"machine": machine(), "python": platform.python_version(), "numba": version("numba"), "numpy": version("numpy"),
           "git_revision": revision, "git_dirty": dirty, "started_at": started.isoformat(timespec="seconds"),
           "settings": settings, "benches": {}}
    for name in args.only:
        print(f"bench {name} {shlex.join(settings[name])}".rstrip() + " ...", file=sys.stderr, flush=True)
        doc["benches"][name] = result = run_bench(name, settings[name], args.timeout)
        if "error" in result:
            print(f"bench {name} failed: {result['error'].splitlines()[0] if result['error'] else ''}", file=sys.stderr)
    failed = [name for name, result in doc["benches"].items() if "error" in result]
    if args.out is None:
        print(orjson.dumps(doc).decode())
        return 1 if failed else 0
    stem = os.path.join(args.out, f"bench-{(revision or 'norev')[:12]}-{started.strftime('%Y%m%dT%H%M%SZ')}")
    with open(stem + ".json", "wb") as f:
        f.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    print(stem + ".json")
    try:
        from bench.report_plot import write_png

        write_png(doc, stem + ".png")
        print(stem + ".png")
    except ImportError:
        print("no PNG: matplotlib is not installed (pip install 'tickagg[bench]')", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)} (their errors are in the JSON)", file=sys.stderr)
    return 1 if failed else 0
