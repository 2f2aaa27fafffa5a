"""The deployment file (TOML): one place for a group's venues, rings, CPU, store, writer, plausibility and logging.

Precedence, for every setting: a command-line flag, else the environment, else the file, else the default.
Environment: ``TICKAGG_GROUP``, ``TICKAGG_LOG_LEVEL``, ``TICKAGG_STORE`` (or ``CLICKHOUSE_URL``) for ``store.url``,
``TICKAGG_FEED_BATCH_WAIT_US`` for ``feeds.batch_wait_us``, and the general form ``TICKAGG__<SECTION>__<KEY>`` for
any setting (``TICKAGG__WRITER__BATCH_ROWS=500``, ``TICKAGG__VENUES__BINANCE__SYMBOLS=BTCUSDT,ETHUSDT``; lists
comma-separated, booleans true/false). The store password is never in the file: ``TICKAGG_STORE_PASSWORD``.

Every value is checked at start with the validator its flag uses (the table of settings is
tickagg/config_schema.py), so a setting and its flag accept the same values; an unknown key, a wrong type or a
bad value is a ``ConfigError`` (a ``UsageError``: one line, exit status 2) naming the file (and line, when the
key is written ``key = ...`` under its ``[table]``) and the dotted key, or the environment variable.
``tickagg.cli.main`` reads ``--config FILE`` before the real parse and turns the settings into the command's
argparse defaults (``defaults_for``): a flag given still wins.
"""
from __future__ import annotations

import argparse
import os
import re
import tomllib
from typing import Any, NamedTuple

from tickagg.config_schema import (BY_KEY, PROTOCOLS, SETTINGS, SPILL_FSYNC, SPILL_FULL, TYPE_WORDS,  # noqa: F401
                                   VENUE_KEYS, ConfigError, Setting, boolean, shown, venue_limits,
                                   venue_value)

class Config(NamedTuple):
    """Settings given by the file or the environment: dotted key -> (value, where), and the venues in file order."""

    values: dict
    venues: dict  # venue -> {key: (value, where)}: the file's, in its order, then the environment's
    path: str | None
    listed: tuple  # the venues of the file's [venues]

    def enabled_venues(self) -> list[str] | None:
        """The venues ``tickagg run`` starts: those the file lists (or, if none, every venue) that are not
        disabled, and those the environment enables; None: every venue, as without a file."""
        from feeds.venues import VENUES

        if not self.listed and not any("enabled" in entry for entry in self.venues.values()):
            return None
        chosen = self.listed or tuple(VENUES)
        chosen += tuple(name for name, entry in self.venues.items() if name not in chosen and entry.get("enabled"))
        return [name for name in chosen if self.venues.get(name, {}).get("enabled", (True,))[0]]

    def venue_symbols(self, venue: str) -> list[str] | str | dict | None:
        """A venue's symbols: a list (checked against the venue's limits: the feed, run and config --check ask;
        the writer and the aggregator never do), ``"all"`` or a filter table (the feed resolves it at start from
        the venue's instrument list, feeds/universe.py), or None (the venue's defaults)."""
        value, where = self.venues.get(venue, {}).get("symbols", (None, ""))
        if isinstance(value, list):
            try:
                venue_limits(venue, value)
            except ValueError as exc:
                raise ConfigError(f"{where}: venues.{venue}.symbols: {exc}") from None
        return value

    def venue(self, venue: str, key: str) -> Any:
        return self.venues.get(venue, {}).get(key, (None,))[0]

    def _url_hint(self, venue: str) -> str | None:
        """The path the simulator serves a venue's configured protocol at (Coinbase advanced: advanced-trade)."""
        from feeds.venues import venue as pick

        protocol = self.venue(venue, "protocol")
        return getattr(pick(venue, protocol), "URL_HINT", None) if protocol else None

    def defaults_for(self, command: str) -> dict:
        """argparse defaults for ``command`` from the file and the environment (its flags still win)."""
        defaults = {dest: self.values[s.key][0] for s in SETTINGS if s.key in self.values
                    for cmd, dest in s.flags.items() if cmd == command}
        if command in ("write", "feed") and "data_dir" in self.values and "TICKAGG_STATE_DIR" not in os.environ:
            defaults["state_dir"] = os.path.join(self.values["data_dir"][0], "writer")
        if command == "run":
            venues = self.enabled_venues()
            if venues is not None:
                if not venues:
                    raise ConfigError(f"{self.path or 'environment'}: venues: every venue is disabled")
                defaults["exchanges"] = ",".join(venues)
            symbols = {v: self.venue_symbols(v) for v in venues or ()}
            defaults["venue_symbols"] = {v: value for v, value in symbols.items() if isinstance(value, list)}
            defaults["venue_selections"] = {v: value for v, value in symbols.items() if value and v not in
                                            defaults["venue_symbols"]}  # "all" or a filter: the feed resolves it
            defaults["simulated_paths"] = {v: f"/{hint}" for v in venues or () if (hint := self._url_hint(v))}
        if command == "feed":
            defaults["deployment"] = self  # the venue's part is picked once the venue is parsed
        return defaults


def load(path: str | None, environ: dict | None = None) -> Config:
    """The settings of ``path`` (None: none) with the environment's over them; ConfigError at the first bad one."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    venues: dict = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
            table = tomllib.loads(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        text = raw.decode("utf-8")
        _walk(table, "", path, text, values, venues)
    listed = tuple(venues)
    _environment(environ, values, venues)
    return Config(values, venues, path, listed)


def _where(path: str, text: str, key: str) -> str:
    line = line_of(text, key)
    return f"{path}:{line}" if line else path


def _walk(table: dict, prefix: str, path: str, text: str, values: dict, venues: dict) -> None:
    sections = {key.split(".")[0] for key in BY_KEY if "." in key} | {"venues"}
    for name, value in table.items():
        key = f"{prefix}{name}"
        where = _where(path, text, key)
        if key == "venues":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: venues: wants a table of venues ([venues.binance] ...)")
            for venue, entry in value.items():
                if not isinstance(entry, dict):
                    raise ConfigError(f"{_where(path, text, f'venues.{venue}')}: venues.{venue}: wants a table")
                _venue_name(venue, _where(path, text, f"venues.{venue}"))
                venues.setdefault(venue, {})  # listed, even with nothing set
                for field, item in entry.items():
                    spot = _where(path, text, f"venues.{venue}.{field}")
                    _set_venue(venues, venue, field, item, spot, from_text=False)
        elif not prefix and name in sections and isinstance(value, dict):
            _walk(value, f"{name}.", path, text, values, venues)
        elif not prefix and name in sections:
            raise ConfigError(f"{where}: {key}: wants a table ([{key}]), got {shown(value)}")
        elif key == "store.url" and isinstance(value, str) and _has_password(value):
            raise ConfigError(f"{where}: {key}: carries a password: give it in TICKAGG_STORE_PASSWORD, "
                              "never in the file")
        elif key in BY_KEY:
            values[key] = (_from_file(BY_KEY[key], value, where), where)
        elif key.endswith("password"):
            raise ConfigError(f"{where}: {key}: the password is never in the file: set TICKAGG_STORE_PASSWORD")
        else:
            raise ConfigError(f"{where}: {key}: unknown setting{_suggest(key)}")


def _has_password(text: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(text.strip()).password)
    except ValueError:
        return False


def _suggest(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(BY_KEY) + ["venues"], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _convert(setting: Setting, text: str, where: str) -> Any:
    from shm.segment import SegmentError

    try:
        return setting.check(text)
    except (argparse.ArgumentTypeError, ValueError, SegmentError) as exc:  # SegmentError: GroupNameError
        raise ConfigError(f"{where}: {setting.key}: {exc}") from None


def _from_file(setting: Setting, value: Any, where: str) -> Any:
    kind = setting.kind
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and number and isinstance(value, int) or kind == "str" and isinstance(value, str):
        return _convert(setting, str(value), where)
    if kind == "float" and number:
        return _convert(setting, repr(float(value)), where)
    if kind == "pair" and (number or isinstance(value, list) and len(value) == 2
                           and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        return _convert(setting, ",".join(repr(float(v)) for v in (value if isinstance(value, list) else [value])),
                        where)
    raise ConfigError(f"{where}: {setting.key}: wants {TYPE_WORDS[kind]}, got {shown(value)}")


def _venue_name(venue: str, where: str) -> None:
    from feeds.venues import VENUES

    if venue not in VENUES:
        raise ConfigError(f"{where}: venues.{venue}: unknown venue; known: {', '.join(sorted(VENUES))}")


def _set_venue(venues: dict, venue: str, field: str, value: Any, where: str, from_text: bool) -> None:
    key = f"venues.{venue}.{field}"
    if field not in VENUE_KEYS:
        raise ConfigError(f"{where}: {key}: unknown setting; a venue has {', '.join(VENUE_KEYS)}")
    try:
        value = venue_value(venue, field, value, from_text)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {key}: {exc}") from None
    venues.setdefault(venue, {})[field] = (value, where)


def _environment(environ: dict, values: dict, venues: dict) -> None:
    """Environment settings over the file's: the named variables, then ``TICKAGG__SECTION__KEY``."""
    for setting in SETTINGS:
        for name in setting.env:
            if environ.get(name):
                values[setting.key] = (_from_env(setting, environ[name], f"environment {name}"), f"environment {name}")
                break
    for name, text in environ.items():
        if not name.startswith("TICKAGG__"):
            continue
        where = f"environment {name}"
        parts = name[len("TICKAGG__"):].lower().split("__")
        if parts[0] == "venues" and len(parts) == 3:
            _venue_name(parts[1], where)
            _set_venue(venues, parts[1], parts[2], text, where, from_text=True)
            continue
        key = ".".join(parts)
        if key not in BY_KEY:
            raise ConfigError(f"{where}: {key}: unknown setting{_suggest(key)}")
        values[key] = (_from_env(BY_KEY[key], text, where), where)


def _from_env(setting: Setting, text: str, where: str) -> Any:
    if setting.kind == "bool":
        try:
            return boolean(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: {setting.key}: {exc}") from None
    return _convert(setting, text, where)


_HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+?)\s*=")


def line_of(text: str, dotted: str) -> int | None:
    """The line (from 1) where ``dotted`` is written as ``[table]`` or ``key = ...`` under its table, or None."""
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _plain(header.group(1))
            if table == dotted:
                return number
            continue
        key = _KEY.match(line)
        if key and ".".join(filter(None, [table, _plain(key.group(1))])) == dotted:
            return number
    return None


def _plain(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def preparse(argv: list[str]) -> str | None:
    """The ``--config FILE`` of a command line (before the real parse, which also accepts it)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config")
    try:
        known, _ = parser.parse_known_args(argv)
    except SystemExit:
        return None  # "--config" without its FILE: the real parse says so
    return known.config


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` for a command that takes its part of the deployment file."""
    parser.add_argument("--config", metavar="FILE",
                        help="deployment file (TOML, `tickagg config --example`); flags and the environment win "
                             "over it")
