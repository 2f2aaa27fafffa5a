"""What each setting of the deployment file may hold: its dotted key, type, the validator of its flag, the
commands and argparse destinations it reaches, and its environment variables (tickagg/config.py reads the file).

The validators are those of the flags (tickagg/args.py, feeds/feed_command.check_symbols), so a setting and its
flag accept the same values.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from feeds.batching import ENV as FEED_BATCH_WAIT_ENV, MAX_WAIT_US as FEED_MAX_BATCH_WAIT_US
from tickagg.args import (UsageError, bounded_float, bounded_int, log_level, name_list, non_negative_float, non_negative_int,
                          positive_float, positive_int, power_of_two, ws_url)
from tickagg.priority import HIGHEST, LOWEST

SPILL_FSYNC = ("always", "interval", "never")  # writer --spill-fsync
SPILL_FULL = ("drop-oldest", "drop-newest")  # writer --spill-full
PROTOCOLS = ("exchange", "advanced")  # feed --protocol
VENUE_KEYS = ("enabled", "symbols", "url", "protocol", "rest_url")
FILTER_KEYS = ("quote", "kind")


class ConfigError(UsageError):
    """A setting tickagg refuses: the message names where (file[:line] or environment variable) and the key."""


def _group(text: str) -> str:
    from shm.names import check_group

    return check_group(text)


def _metrics_address(text: str) -> tuple[str, int]:
    from tickagg.metrics_exporter import address_argument

    return address_argument(text)


def _store(text: str) -> str:
    from store.url import parse

    parse(text, {})  # StoreURLError (a ValueError) names what is wrong
    return text


def _choice(*values: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in values:
            raise ValueError(f"{text!r} is not one of {', '.join(values)}")
        return text
    return check


def _pair(ranged: bool) -> Callable[[str], str]:
    """``"A,B"``: the text feed --max-clock-skew / --price-range / --size-range take (min <= max for a range)."""
    def check(text: str) -> str:
        from feeds.plausible import parse_pair

        low, high = parse_pair(text, "value")
        if ranged and low > high:
            raise ValueError(f"{text!r}: the minimum is above the maximum")
        return text
    return check


class Setting(NamedTuple):
    key: str  # dotted name in the file
    kind: str  # "int", "float", "str", "bool" or "pair" (a number or [A, B])
    check: Callable[[str], Any]  # text -> value: the validator of the flag
    flags: dict  # command -> argparse dest
    env: tuple = ()  # environment variables besides TICKAGG__SECTION__KEY


_ALL = ("feed", "aggregate", "write", "run")
SETTINGS = [
    Setting("group", "str", _group, dict.fromkeys(_ALL, "group"), ("TICKAGG_GROUP",)),
    Setting("log_level", "str", log_level, dict.fromkeys(("feed", "aggregate", "write"), "log_level"),
            ("TICKAGG_LOG_LEVEL",)),
    Setting("data_dir", "str", str, {"run": "data_dir"}),
    Setting("store.url", "str", _store, {"run": "store", "write": "store"}, ("TICKAGG_STORE", "CLICKHOUSE_URL")),
    Setting("rings.tick_capacity", "int", power_of_two, {"feed": "ring_capacity"}),  # wins over the two below
    Setting("rings.buffer_seconds", "float", bounded_float(0, 600, low_open=True), {"feed": "buffer_seconds"}),
    Setting("rings.venue_peak_rate", "float", bounded_float(0, 1e8, low_open=True), {"feed": "venue_peak_rate"}),
    Setting("rings.output_seconds", "float", bounded_float(0, 600, low_open=True), {"aggregate": "output_seconds"}),
    Setting("rings.peak_rate", "float", bounded_float(0, 1e8, low_open=True), {"aggregate": "peak_rate"}),
    Setting("aggregator.cpu", "int", non_negative_int, {"aggregate": "cpu"}),
    Setting("aggregator.nice", "int", bounded_int(LOWEST, HIGHEST), {"aggregate": "nice"}),
    Setting("aggregator.busy_poll", "bool", bool, {"aggregate": "busy_poll"}),
    Setting("aggregator.spin_us", "float", non_negative_float, {"aggregate": "spin_us"}),
    Setting("aggregator.min_sleep_us", "float", non_negative_float, {"aggregate": "min_sleep_us"}),
    Setting("aggregator.idle_sleep_us", "float", non_negative_float, {"aggregate": "idle_sleep_us"}),
    Setting("aggregator.deep_sleep_us", "float", bounded_float(0, 40000), {"aggregate": "deep_sleep_us"}),
    Setting("aggregator.max_symbols", "int", positive_int, {"aggregate": "max_symbols"}),
    Setting("aggregator.lateness_ms", "float", bounded_float(0, 1000, high_open=True), {"aggregate": "lateness_ms"}),
    Setting("aggregator.fill_minutes", "int", non_negative_int, {"aggregate": "fill_minutes"}),
    Setting("writer.batch_rows", "int", positive_int, {"write": "batch_rows"}),
    Setting("writer.batch_ms", "float", positive_float, {"write": "batch_ms"}),
    Setting("writer.quiet_batch_ms", "float", non_negative_float, {"write": "quiet_batch_ms"}),
    Setting("writer.quiet_summary_ms", "float", non_negative_float, {"write": "quiet_summary_ms"}),
    Setting("writer.max_batch_rows", "int", positive_int, {"write": "max_batch_rows"}),
    Setting("writer.max_batch_mb", "float", positive_float, {"write": "max_batch_mb"}),
    Setting("writer.memory_mb", "float", positive_float, {"write": "memory_mb"}),
    Setting("writer.spill_fsync", "str", _choice(*SPILL_FSYNC), {"write": "spill_fsync"}),
    Setting("writer.spill_max_mb", "float", non_negative_float, {"write": "spill_max_mb"}),
    Setting("writer.spill_full", "str", _choice(*SPILL_FULL), {"write": "spill_full"}),
    Setting("writer.retention_days", "int", non_negative_int, {"write": "retention_days"}),
    Setting("feeds.max_clock_skew", "pair", _pair(False), {"feed": "max_clock_skew"}),
    Setting("feeds.price_range", "pair", _pair(True), {"feed": "price_range"}),
    Setting("feeds.size_range", "pair", _pair(True), {"feed": "size_range"}),
    Setting("feeds.stale_after", "float", positive_float, {"feed": "stale_after"}),
    Setting("feeds.max_lifetime", "float", non_negative_float, {"feed": "max_lifetime"}),
    Setting("feeds.nice", "int", bounded_int(LOWEST, HIGHEST), {"feed": "nice"}),
    Setting("feeds.batch_wait_us", "float", bounded_float(0, FEED_MAX_BATCH_WAIT_US), {"feed": "batch_wait_us"},
            (FEED_BATCH_WAIT_ENV,)),
    Setting("simulator.rate", "float", non_negative_float, {"run": "rate"}),
    Setting("metrics.addr", "str", _metrics_address, {"run": "metrics_addr"}),
]
BY_KEY = {setting.key: setting for setting in SETTINGS}
TYPE_WORDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
               "pair": "a number or [A, B]"}


def shown(value: Any) -> str:
    """A value as an error message shows it: its TOML kind and its text."""
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})"[:120]


def venue_value(venue: str, field: str, value: Any, from_text: bool) -> Any:
    """A venue setting checked (from the file, or from the text of an environment variable); ValueError."""
    if field == "enabled":
        if from_text:
            return boolean(value)
        if not isinstance(value, bool):
            raise ValueError(f"wants true or false, got {shown(value)}")
        return value
    if field == "symbols":
        return _symbols(venue, value, from_text)
    if not isinstance(value, str):
        raise ValueError(f"wants a string, got {shown(value)}")
    if field == "url":
        return ws_url(value)
    if field == "rest_url":
        return rest_url(value)
    from feeds.venues import venue as pick

    _choice(*PROTOCOLS)(value)
    pick(venue, value)  # ValueError: this venue has one protocol
    return value


def rest_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host and no credentials: a venue's REST base (feed --rest-url,
    venues.X.rest_url)."""
    from argparse import ArgumentTypeError
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
        if "@" in parts.netloc:  # before any echo of the text: it has a secret
            raise ArgumentTypeError("a REST URL takes no user or password (the venues' instrument lists are public; "
                                    "it would show on the feeds' command lines, in logs and in the universe cache)")
        parts.port  # noqa: B018 — ValueError for a bad port
    except ValueError as exc:
        raise ArgumentTypeError(f"{text[:120]!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ArgumentTypeError(f"{text[:120]!r} is not an http:// or https:// base URL with a host")
    return text.strip().rstrip("/")


def _symbols(venue: str, value: Any, from_text: bool) -> Any:
    if value == "all" or from_text and value.strip() == "all":
        return "all"
    if isinstance(value, dict):
        unknown = [key for key in value if key not in FILTER_KEYS]
        if unknown or not value:
            raise ValueError(f"a filter has {' and/or '.join(FILTER_KEYS)}, got {', '.join(unknown) or 'nothing'}")
        for key, item in value.items():
            items = item if isinstance(item, list) else [item]
            if not items or not all(isinstance(i, str) and i.strip() for i in items):
                raise ValueError(f"filter {key}: wants a string or a list of strings, got {shown(item)}")
        from feeds.universe import check_kinds

        check_kinds(venue, value)  # ValueError: a kind that is none, or that this venue's feed does not take
        return value
    if from_text:
        value = name_list(value)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ValueError(f'wants a list of symbols, "all" or a filter table, got {shown(value)}')
    symbols = name_list(",".join(value)) if all("," not in item for item in value) else None
    if symbols is None:
        raise ValueError(f"a symbol contains a comma: {next(i for i in value if ',' in i)!r}")
    if len(set(symbols)) != len(symbols):
        raise ValueError("a symbol is listed twice")
    return symbols


def venue_limits(venue: str, symbols: list[str]) -> None:
    """ValueError unless the venue's feed takes ``symbols`` (its connection limits, the symbol directory's key
    size): the check of feed --symbols. Apart from the shape checks because it imports the symbol directory (and
    Numba with it), which the writer never loads."""
    from feeds.feed_command import check_symbols
    from feeds.venues import VENUES

    try:
        check_symbols(VENUES[venue], symbols, VENUES[venue].URL)
    except UsageError as exc:
        raise ValueError(str(exc).removeprefix("--symbols: ")) from None


def boolean(text: str) -> bool:
    """true/false (1/0, yes/no, on/off) in an environment variable."""
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean: use true or false")
