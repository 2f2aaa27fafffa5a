"""`tickagg status [GROUP]`: the live view of a running group, from its rings and the writer's status file.

The same snapshot for a group started by `tickagg run` or by the systemd units (tickagg/group_snapshot.py). On a
terminal the view is redrawn in place every ``--interval`` seconds; piped, each view is printed as plain lines
after the last; ``--json`` prints one snapshot (two ``--interval`` apart, with their rates, when an interval is
given) and exits; ``--once`` prints one view and exits; ``--serve [ADDR:]PORT`` serves it as Prometheus
``/metrics`` instead (tickagg/metrics_exporter.py) until SIGTERM. The group: GROUP, else ``TICKAGG_GROUP``, else the
deployment file's ``group`` (``--config``), else ``default``. The writer's status file:
``<state-dir>/<group>/status.json`` with ``--state-dir``, else ``TICKAGG_STATE_DIR``, else the file's
``data_dir``/writer, else ./data/writer, else the systemd units' /var/lib/tickagg/writer.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from shm.names import group_argument
from tickagg import config
from tickagg.args import positive_float

HELP = "the live view of a running group: per venue connections, ticks/s, drops, gaps; aggregator and writer lag"
DEFAULT_INTERVAL_S = 2.0
SYSTEMD_STATE_DIR = "/var/lib/tickagg/writer"  # systemd/tickagg-write.service's --state-dir
HOME, CLEAR = "\x1b[H", "\x1b[2J"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (others may add theirs, e.g. a server of the same snapshot)."""
    parser.add_argument("group", nargs="?", type=group_argument, default=None,
                        help="process group (default: TICKAGG_GROUP, the deployment file's group, else default)")
    parser.add_argument("--json", action="store_true",
                        help="print one snapshot as JSON and exit (with --interval: two, and the rates between them)")
    parser.add_argument("--interval", type=positive_float, default=None, metavar="S",
                        help=f"seconds between views (default {DEFAULT_INTERVAL_S:g})")
    parser.add_argument("--once", action="store_true", help="print one view and exit")
    parser.add_argument("--state-dir", default=None,
                        help="the writer's --state-dir, where it publishes <group>/status.json "
                             "(default: TICKAGG_STATE_DIR, the file's data_dir/writer, ./data/writer, /var/lib/tickagg/writer)")
    parser.add_argument("--serve", type=_address, default=None, metavar="[ADDR:]PORT",
                        help="serve Prometheus /metrics of the group there until stopped, instead of showing it "
                             "(address default 127.0.0.1; port 0: any free one, printed)")
    config.add_argument(parser)


def _address(text: str) -> tuple[str, int]:
    from tickagg.metrics_exporter import address_argument

    return address_argument(text)


def run(args: argparse.Namespace) -> int:
    from tickagg.group_snapshot import read_group

    group, state_dir = resolve(args)
    if args.serve:  # before the group runs too (the systemd unit): every scrape reads it afresh
        from tickagg.metrics_exporter import serve_forever

        return serve_forever(group, state_dir, args.serve)
    snapshot = read_group(group, state_dir=state_dir)
    if not snapshot["rings"]:
        print(f"tickagg status: group {group} has no rings in shared memory: is it running? "
              "(`tickagg rings` lists every group's)", file=sys.stderr)
        return 1
    if args.json:
        return _json(group, state_dir, snapshot, args.interval)
    if args.once:
        return _show([*_lines(snapshot, None), ""], redraw=False)
    interval = args.interval or DEFAULT_INTERVAL_S
    redraw = sys.stdout.isatty()
    earlier = None
    try:
        while True:
            _show([*_lines(snapshot, earlier), f"(every {interval:g} s; Ctrl-C quits)" if redraw else ""], redraw)
            time.sleep(interval)
            earlier, snapshot = snapshot, read_group(group, state_dir=state_dir)
    except KeyboardInterrupt:  # how a watch ends
        return 0


def resolve(args: argparse.Namespace) -> tuple[str, str]:
    """The group and the writer's state directory, by precedence (module docstring)."""
    settings = config.load(args.config)  # the environment over the file; ConfigError (status 2) if bad
    group = args.group or settings.values.get("group", ("default",))[0]
    if args.state_dir:
        return group, args.state_dir
    if os.environ.get("TICKAGG_STATE_DIR"):
        return group, os.environ["TICKAGG_STATE_DIR"]
    if "data_dir" in settings.values:
        return group, os.path.join(settings.values["data_dir"][0], "writer")
    for candidate in ("./data/writer", SYSTEMD_STATE_DIR):
        if os.path.lexists(os.path.join(candidate, group, "status.json")):
            return group, candidate
    return group, "./data/writer"


def _lines(snapshot: dict, earlier: dict | None) -> list[str]:
    from tickagg.snapshot_rates import rates
    from tickagg.status_view import render

    return render(snapshot, rates(earlier, snapshot) if earlier else None)


def _show(lines: list[str], redraw: bool) -> int:
    text = "\n".join(lines) + "\n"
    if redraw:  # cursor home, clear the screen, then the view: redrawn in place
        text = HOME + CLEAR + text
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _json(group: str, state_dir: str, snapshot: dict, interval: float | None) -> int:
    import orjson

    from tickagg.group_snapshot import read_group
    from tickagg.snapshot_rates import rates

    if interval:
        time.sleep(interval)
        later = read_group(group, state_dir=state_dir)
        snapshot = {**later, "rates": rates(snapshot, later)}
    sys.stdout.write(orjson.dumps(snapshot).decode() + "\n")
    return 0
