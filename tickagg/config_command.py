"""`tickagg config --example | --check FILE`: the commented example deployment file, or a file's effective settings."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tickagg import config
from tickagg.args import UsageError

HELP = "print the commented example deployment file (--example), or validate one and print its effective settings (--check FILE)"
EXAMPLE = Path(__file__).resolve().parents[1] / "systemd" / "tickagg.toml.example"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--example", action="store_true", help="print the example (systemd/tickagg.toml.example)")
    mode.add_argument("--check", metavar="FILE",
                      help="validate FILE with the environment's overrides, as a command would at start, "
                           "and print every setting with where it comes from")


def run(args: argparse.Namespace) -> int:
    if args.example:
        try:
            print(EXAMPLE.read_text(), end="")
        except OSError as exc:
            raise UsageError(f"--example: cannot read {EXAMPLE}: {exc.strerror}") from None
        return 0
    deployment = config.load(args.check)
    for command in ("feed", "aggregate", "write", "run"):
        deployment.defaults_for(command)  # what each command would refuse at start (every venue disabled)
    for venue in deployment.venues:
        deployment.venue_symbols(venue)
    for line in effective(deployment):
        print(line)
    return 0


def effective(deployment: config.Config) -> list[str]:
    """``key = value  # where`` for every setting and venue: the file, the environment or the default."""
    from feeds.instruments import REST_URLS
    from feeds.venues import PROTOCOLS, VENUES, venue as pick
    from store.url import DEFAULT_STORE, redact
    from tickagg.cli import build_parser

    defaults = {}
    for command in ("feed", "aggregate", "write", "run"):
        parser = build_parser(command)
        defaults[command] = vars(parser.parse_args([command] + (["binance"] if command == "feed" else [])))
    lines = []
    for setting in config.SETTINGS:
        if setting.key in deployment.values:
            value, where = deployment.values[setting.key]
        else:
            command, dest = next(iter(setting.flags.items()))
            value, where = defaults[command][dest], "default"
            if setting.key == "store.url" and value is None:
                value = DEFAULT_STORE
        lines.append(_line(setting.key, redact(_shown(value)), where))
    venues = deployment.enabled_venues()
    for name in deployment.venues or VENUES:
        entry = deployment.venues.get(name, {})
        module = pick(name, deployment.venue(name, "protocol"), deployment.venue(name, "url"))
        shown = {"enabled": (venues is None or name in venues, "default"),
                 "symbols": (list(module.DEFAULT_SYMBOLS), "default"), "url": (module.URL, "default"),
                 "rest_url": (REST_URLS[name], "default")}
        if name in PROTOCOLS:
            shown["protocol"] = ("advanced" if module.__name__.endswith("advanced") else "exchange", "default")
        shown.update(entry)
        for key, (value, where) in shown.items():
            lines.append(_line(f"venues.{name}.{key}", _shown(value), where))
    return lines


def _line(key: str, value: str, where: str) -> str:
    return f"{f'{key} = {value}':<60} # {where}"


def _shown(value) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (str, list, dict)) else repr(value)
