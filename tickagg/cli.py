"""The `tickagg` console script: one subcommand per job.

Each subcommand lives in its own module, which exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Those in ``CONFIGURED`` also take
``--config FILE``: ``main`` reads it (and the environment) before parsing, as the parser's
defaults (tickagg/config.py). Command modules import
their heavy dependencies (numba, numpy kernels) inside ``run`` so that
``tickagg --help`` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from tickagg.args import Parser, UsageError

# subcommand name -> module that implements it
COMMANDS = {
    "rings": "shm.rings_command",
    "tail": "shm.tail_command",
    "parse": "feeds.parse_command",
    "feed": "feeds.feed_command",
    "aggregate": "aggregator.aggregate_command",
    "run": "tickagg.run_command",
    "simulate": "simulator.simulate_command",
    "write": "writer.write_command",
    "query": "store.query_command",
    "bench": "bench.command",
    "features": "aggregator.features_command",
    "summary": "tickagg.summary_command",
    "config": "tickagg.config_command",
    "status": "tickagg.status_command",
}


# subcommands that take their part of the deployment file (--config) and of the environment (tickagg/config.py)
CONFIGURED = ("feed", "aggregate", "write", "run")


def build_parser(only: str | None = None, defaults: dict | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's module is imported (and ``defaults`` replace
    its own: the settings of the deployment file and the environment)."""
    parser = Parser(
        prog="tickagg",
        description="Market-data tick aggregator: feeds -> shared-memory rings -> aggregator -> store.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run, **(defaults if only and defaults else {}))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; bad arguments or configuration end in one line on stderr and exit status 2.

    Only ``UsageError`` (raised by a command before it does its work) is caught that way: any other
    exception is a bug of running code and keeps its traceback.
    """
    argv = sys.argv[1:] if argv is None else argv
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    from shm.names import GroupNameError  # light: no numpy

    try:  # flag > environment > file > default: the file and the environment become the parser's defaults
        defaults = _configured(chosen, argv[1:]) if chosen in CONFIGURED else None
    except UsageError as exc:
        print(f"tickagg {chosen}: {exc}", file=sys.stderr)
        return 2
    try:
        # --group's type raises GroupNameError, argparse lets it through
        args = build_parser(chosen, defaults).parse_args(argv)
    except GroupNameError as exc:
        print(f"tickagg{' ' + chosen if chosen else ''}: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"tickagg {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `tickagg tail ... | head`: the reader went away; not an error.
        sys.stderr.close()
        return 0


def _configured(command: str, argv: list[str]) -> dict:
    """``command``'s defaults from its ``--config FILE`` (if any) and the environment; ConfigError if one is bad."""
    from tickagg import config

    return config.load(config.preparse(argv)).defaults_for(command)


if __name__ == "__main__":
    sys.exit(main())
