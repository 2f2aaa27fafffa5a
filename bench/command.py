"""`tickagg bench TARGET`: throughput and latency figures, as a table or JSON.

Each target lives in its own module (``bench/<target>_command.py``) exposing
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``, like the
top-level commands (``all`` runs every bench, ``compare`` sets two results
side by side: bench/compare.py). Figures come from here, never from timed tests.
"""
from __future__ import annotations

import argparse
import importlib
import sys

HELP = "throughput and latency harness (targets below); --json prints one JSON object"

# target -> module
TARGETS = {
    "ring": "bench.ring_command",
    "fanin": "bench.fanin_command",
    "feed": "bench.feed_command",
    "features": "bench.features_command",
    "writer": "bench.writer_command",
    "outage": "bench.outage_command",
    "e2e": "bench.e2e_command",
    "all": "bench.all_command",  # every target above in turn, one JSON (+ PNG)
    "compare": "bench.compare",  # two results side by side
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    targets = parser.add_subparsers(dest="target", metavar="TARGET")
    targets.required = True
    chosen = next((arg for arg in sys.argv[2:3] if arg in TARGETS), None)
    for name, module_name in TARGETS.items():
        if chosen is not None and name != chosen:
            continue  # import only the target being run
        module = importlib.import_module(module_name)
        target = targets.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(target)
        target.set_defaults(run_target=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args.run_target(args) or 0)
