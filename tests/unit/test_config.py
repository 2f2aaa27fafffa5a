"""The deployment file (tickagg/config.py): every kind of bad setting is named with its place, the precedence
flag > environment > file > default, and the checked-in example validates."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tickagg import config
from tickagg.cli import _configured, build_parser
from tickagg.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "systemd" / "tickagg.toml.example"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("TICKAGG") or name == "CLICKHOUSE_URL":
            monkeypatch.delenv(name)


def _file(tmp_path, text: str) -> str:
    path = tmp_path / "tickagg.toml"
    path.write_text(text)
    return str(path)


BAD_FILES = [
    # (file text, words the one-line error must contain: place, dotted key, what is wrong)
    ("[writer]\nbatch_rowz = 5\n", [":2:", "writer.batch_rowz", "unknown setting", "writer.batch_rows"]),
    ("colour = 'red'\n", [":1:", "colour", "unknown setting"]),
    ("[writer]\nbatch_rows = 'ten'\n", [":2:", "writer.batch_rows", "an integer", "'ten'"]),
    ("[writer]\n\n# a comment\nbatch_rows = 0\n", [":4:", "writer.batch_rows", "positive"]),
    ("[writer]\nbatch_ms = -1.5\n", [":2:", "writer.batch_ms", "positive"]),
    ("[writer]\nspill_full = 'drop-all'\n", [":2:", "writer.spill_full", "drop-oldest"]),
    ("[aggregator]\nlateness_ms = 1000\n", [":2:", "aggregator.lateness_ms", "below 1000"]),
    ("[aggregator]\nbusy_poll = 'yes'\n", [":2:", "aggregator.busy_poll", "true or false"]),
    ("[aggregator]\ncpu = 1.5\n", [":2:", "aggregator.cpu", "an integer"]),
    ("[rings]\ntick_capacity = 1000\n", [":2:", "rings.tick_capacity", "power of two"]),
    ("[rings]\n\nbuffer_seconds = 0\n", [":3:", "rings.buffer_seconds", "positive"]),
    ("[rings]\npeak_rate = 'fast'\n", [":2:", "rings.peak_rate", "a number", "'fast'"]),
    ("[rings]\noutput_seconds = 601\n", [":2:", "rings.output_seconds", "at most 600"]),
    ("[feeds]\nprice_range = [5, 1]\n", [":2:", "feeds.price_range", "minimum is above"]),
    ("[feeds]\nmax_clock_skew = 'soon'\n", [":2:", "feeds.max_clock_skew", "[A, B]"]),
    ("log_level = 'loud'\n", [":1:", "log_level", "'loud'"]),
    ("group = 'a.b'\n", [":1:", "group", "'a.b'"]),
    ("writer = 3\n", [":1:", "writer", "a table"]),
    ("[store]\nurl = 'mysql://h/db'\n", [":2:", "store.url", "mysql"]),
    ("[store]\nurl = 'clickhouse://u:hunter2@h/db'\n", [":2:", "store.url", "TICKAGG_STORE_PASSWORD"]),
    ("[store]\npassword = 'hunter2'\n", [":2:", "store.password", "TICKAGG_STORE_PASSWORD"]),
    ("[venues.nosuch]\nsymbols = ['A']\n", [":1:", "venues.nosuch", "unknown venue"]),
    ("[venues.binance]\nsymbol = ['A']\n", [":2:", "venues.binance.symbol", "unknown setting"]),
    ("[venues.binance]\nsymbols = ['BTC USDT']\n", [":2:", "venues.binance.symbols", "whitespace"]),
    ("[venues.binance]\nsymbols = []\n", [":2:", "venues.binance.symbols", "a list of symbols"]),
    ("[venues.binance]\nsymbols = ['A', 'A']\n", [":2:", "venues.binance.symbols", "twice"]),
    ("[venues.binance]\nsymbols = { quote = 'USDT', size = 'big' }\n", [":2:", "venues.binance.symbols", "size"]),
    ("[venues.binance]\nsymbols = { kind = 'swap' }\n", [":2:", "venues.binance.symbols", "'swap'", "perpetual"]),
    ("[venues.binance]\nsymbols = { kind = 'perpetual' }\n", [":2:", "venues.binance.symbols", "takes kind spot"]),
    ("[venues.okx]\nsymbols = { quote = [] }\n", [":2:", "venues.okx.symbols", "filter quote"]),
    ("[venues.okx]\nsymbols = 'most'\n", [":2:", "venues.okx.symbols", '"all"']),
    ("[venues.okx]\nrest_url = 'ftp://x'\n", [":2:", "venues.okx.rest_url", "http:// or https://"]),
    ("[venues.okx]\nrest_url = 'https://'\n", [":2:", "venues.okx.rest_url", "with a host"]),
    # credentials would reach child command lines, logs and the universe cache: refused, and never echoed
    ("[venues.okx]\nrest_url = 'https://me:hunter2@mirror.example'\n", [":2:", "venues.okx.rest_url", "no user"]),
    ("[venues.binance]\nurl = 'http://x'\n", [":2:", "venues.binance.url", "WebSocket"]),
    ("[venues.okx]\nprotocol = 'advanced'\n", [":2:", "venues.okx.protocol", "one protocol"]),
    ("[venues.coinbase]\nprotocol = 'fix'\n", [":2:", "venues.coinbase.protocol", "'fix'"]),
    ("[venues.kraken]\nenabled = 'no'\n", [":2:", "venues.kraken.enabled", "true or false"]),
    ("[writer\n", ["not valid TOML", "line 1"]),
]


@pytest.mark.parametrize("text, words", BAD_FILES, ids=[text.splitlines()[-1][:40] for text, _ in BAD_FILES])
def test_a_bad_setting_names_its_file_line_and_key(tmp_path, text, words):
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert message.startswith(path) and "\n" not in message
    for word in words:
        assert word in message, message
    assert "hunter2" not in message


@pytest.mark.parametrize("name, value, words", [
    ("TICKAGG__WRITER__BATCH_ROWZ", "5", ["TICKAGG__WRITER__BATCH_ROWZ", "writer.batch_rowz", "unknown"]),
    ("TICKAGG__WRITER__BATCH_ROWS", "0", ["TICKAGG__WRITER__BATCH_ROWS", "writer.batch_rows", "positive"]),
    ("TICKAGG_LOG_LEVEL", "loud", ["TICKAGG_LOG_LEVEL", "log_level", "'loud'"]),
    ("TICKAGG_GROUP", "a b", ["TICKAGG_GROUP", "group"]),
    ("TICKAGG__AGGREGATOR__BUSY_POLL", "maybe", ["TICKAGG__AGGREGATOR__BUSY_POLL", "boolean"]),
    ("TICKAGG_FEED_BATCH_WAIT_US", "5001", ["TICKAGG_FEED_BATCH_WAIT_US", "feeds.batch_wait_us", "at most 5000"]),
    ("TICKAGG__FEEDS__BATCH_WAIT_US", "-1", ["TICKAGG__FEEDS__BATCH_WAIT_US", "feeds.batch_wait_us", "zero or more"]),
    ("TICKAGG__VENUES__NOSUCH__SYMBOLS", "A", ["TICKAGG__VENUES__NOSUCH__SYMBOLS", "unknown venue"]),
    ("TICKAGG__VENUES__BINANCE__SYMBOLS", "A,,B", ["TICKAGG__VENUES__BINANCE__SYMBOLS", "empty"]),
])
def test_a_bad_environment_setting_names_the_variable(name, value, words):
    with pytest.raises(ConfigError) as caught:
        config.load(None, {name: value})
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_a_venue_limit_is_checked_where_the_symbols_are_used(tmp_path):
    path = _file(tmp_path, "[venues.deribit]\nsymbols = [" + ",".join(f"'D{i}'" for i in range(32 * 500 + 1)) + "]\n")
    deployment = config.load(path)  # the writer and the aggregator load it without the feeds' limits
    with pytest.raises(ConfigError, match=rf"^{path}:2: venues.deribit.symbols: .*33 connections.*32"):
        deployment.venue_symbols("deribit")  # as the feed, `tickagg run` and `tickagg config --check` do
    with pytest.raises(ConfigError, match="33 connections"):
        _configured("run", ["--config", path])


def test_all_and_filters_reach_the_feed_and_run_unresolved(tmp_path):
    path = _file(tmp_path, "[venues.binance]\nsymbols = 'all'\nrest_url = 'http://127.0.0.1:1/'\n"
                           "[venues.okx]\nsymbols = { quote = ['USDT'], kind = ['spot', 'perpetual'] }\n"
                           "[venues.kraken]\nsymbols = ['BTC/USD']\n")
    deployment = config.load(path)
    assert deployment.venue_symbols("binance") == "all"
    assert deployment.venue_symbols("okx") == {"quote": ["USDT"], "kind": ["spot", "perpetual"]}
    assert deployment.venue("binance", "rest_url") == "http://127.0.0.1:1"
    run = _parsed("run", ["--config", path])  # the feed resolves a selection; the simulator gets the lists only
    assert run.venue_symbols == {"kraken": ["BTC/USD"]}
    assert set(run.venue_selections) == {"binance", "okx"}
    feed = _parsed("feed", ["binance", "--config", path])
    assert feed.deployment.venue_symbols("binance") == "all"


def test_all_in_the_environment_and_on_the_feed_command_line(tmp_path):
    deployment = config.load(None, {"TICKAGG__VENUES__GEMINI__SYMBOLS": "all"})
    assert deployment.venue_symbols("gemini") == "all"
    assert _parsed("feed", ["gemini", "--symbols", "all"]).symbols == "all"


def _parsed(command: str, argv: list[str]) -> argparse.Namespace:
    return build_parser(command, _configured(command, argv)).parse_args([command, *argv])


def test_precedence_flag_over_environment_over_file_over_default(tmp_path, monkeypatch):
    path = _file(tmp_path, "group = 'fromfile'\n[writer]\nbatch_rows = 2000\nspill_full = 'drop-newest'\n")
    assert _parsed("write", []).batch_rows is None  # default: chosen by the store (1,000 on a server, none on chDB)
    assert _parsed("write", ["--config", path]).batch_rows == 2000  # file
    monkeypatch.setenv("TICKAGG__WRITER__BATCH_ROWS", "3000")
    monkeypatch.setenv("TICKAGG_GROUP", "fromenv")
    args = _parsed("write", ["--config", path])
    assert (args.batch_rows, args.group, args.spill_full) == (3000, "fromenv", "drop-newest")  # environment, file
    args = _parsed("write", ["--config", path, "--batch-rows", "4000", "--group", "fromflag"])
    assert (args.batch_rows, args.group) == (4000, "fromflag")  # flag
    args = _parsed("write", ["--config", path, "--batch-rows", "1000"])  # a flag equal to the default still wins
    assert args.batch_rows == 1000


def test_the_feeds_batching_wait_from_the_file_the_environment_or_the_flag(tmp_path, monkeypatch):
    """``feeds.batch_wait_us`` reaches every feed (``tickagg run`` passes the file on); its old variable
    TICKAGG_FEED_BATCH_WAIT_US still sets it, under the flag."""
    from feeds.batching import DEFAULT_WAIT_US
    from feeds.feed_command import default_wait_us

    path = _file(tmp_path, "[feeds]\nbatch_wait_us = 0\n")
    assert _parsed("feed", ["okx"]).batch_wait_us is None and default_wait_us() == DEFAULT_WAIT_US
    assert _parsed("feed", ["okx", "--config", path]).batch_wait_us == 0.0  # off, from the file
    monkeypatch.setenv("TICKAGG_FEED_BATCH_WAIT_US", "2000")
    assert _parsed("feed", ["okx", "--config", path]).batch_wait_us == 2000.0 == default_wait_us()
    assert _parsed("feed", ["okx", "--config", path, "--batch-wait-us", "500"]).batch_wait_us == 500.0
    with pytest.raises(ConfigError, match=r":2: feeds.batch_wait_us: '5001.0' must be at most 5000"):
        config.load(_file(tmp_path, "[feeds]\nbatch_wait_us = 5001\n"), {})


def test_store_url_from_the_file_under_the_environment(tmp_path, monkeypatch):
    path = _file(tmp_path, "[store]\nurl = 'clickhouse://tickagg@db:9000/tickagg'\n")
    assert _parsed("run", ["--config", path]).store == "clickhouse://tickagg@db:9000/tickagg"
    monkeypatch.setenv("TICKAGG_STORE", "chdb:///tmp/x")
    assert _parsed("write", ["--config", path]).store == "chdb:///tmp/x"


def test_each_command_takes_its_part(tmp_path):
    path = _file(tmp_path, "log_level = 'DEBUG'\ndata_dir = '/srv/tick'\n[aggregator]\ncpu = 0\nbusy_poll = true\n"
                           "[rings]\ntick_capacity = 1024\n[feeds]\nmax_clock_skew = 60\nprice_range = [0.5, 9e5]\n"
                           "[simulator]\nrate = 25\n[venues.okx]\nsymbols = ['BTC-USDT']\n"
                           "[venues.binance]\nurl = 'ws://127.0.0.1:1'\n[venues.bitmex]\nenabled = false\n")
    aggregate = _parsed("aggregate", ["--config", path])
    assert (aggregate.cpu, aggregate.busy_poll, aggregate.log_level) == (0, True, "DEBUG")
    feed = _parsed("feed", ["okx", "--config", path])
    assert (feed.ring_capacity, feed.max_clock_skew, feed.price_range) == (1024, "60.0", "0.5,900000.0")
    assert feed.deployment.venue_symbols("okx") == ["BTC-USDT"]
    assert feed.deployment.venue("binance", "url") == "ws://127.0.0.1:1"
    from feeds.feed_command import limits_from
    assert limits_from(feed).behind_s == 60.0 and limits_from(feed).max_price == 9e5
    write = _parsed("write", ["--config", path])
    assert (write.state_dir, write.log_level) == ("/srv/tick/writer", "DEBUG")
    run = _parsed("run", ["--config", path])
    assert (run.exchanges, run.rate, run.data_dir) == ("okx,binance", 25.0, "/srv/tick")  # listed, not disabled
    assert run.venue_symbols == {"okx": ["BTC-USDT"]}


def test_environment_venue_settings_do_not_change_which_venues_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKAGG__VENUES__BINANCE__SYMBOLS", "BTCUSDT,SOLUSDT")
    assert _parsed("run", []).exchanges == "all"
    path = _file(tmp_path, "[venues.okx]\n[venues.kraken]\n")
    assert _parsed("run", ["--config", path]).exchanges == "okx,kraken"
    monkeypatch.setenv("TICKAGG__VENUES__KRAKEN__ENABLED", "false")
    monkeypatch.setenv("TICKAGG__VENUES__BITMEX__ENABLED", "true")
    assert _parsed("run", ["--config", path]).exchanges == "okx,bitmex"
    monkeypatch.setenv("TICKAGG__VENUES__OKX__ENABLED", "0")
    monkeypatch.delenv("TICKAGG__VENUES__BITMEX__ENABLED")
    with pytest.raises(ConfigError, match="every venue is disabled"):
        _configured("run", ["--config", path])


def test_every_venue_disabled_is_refused(tmp_path):
    path = _file(tmp_path, "[venues.okx]\nenabled = false\n")
    with pytest.raises(ConfigError, match="every venue is disabled"):
        _configured("run", ["--config", path])


SAMPLES = ["-1", "0", "1", "2", "2.5", "999.9", "1000", "1024", "nan", "inf", "x", "", "INFO", "loud", "always",
           "drop-newest", "advanced"]


@pytest.mark.parametrize("setting", [s for s in config.SETTINGS if s.kind in ("int", "float", "str")],
                         ids=lambda s: s.key)
def test_a_setting_accepts_what_its_flags_accept(setting):
    for command, dest in setting.flags.items():
        action = next(a for a in build_parser(command)._subparsers._group_actions[0].choices[command]._actions
                      if a.dest == dest)
        if action.type is None and not action.choices:
            continue  # checked once the command runs (--store, --data-dir): the setting is checked at load
        for text in SAMPLES:
            assert _outcome(setting.check, text) == _outcome(action.type or str, text, action.choices), (dest, text)


def _outcome(check, text, choices=None):
    try:
        value = check(text)
    except Exception:  # noqa: BLE001 — refused, whatever the validator raises
        return "refused"
    return value if choices is None or value in choices else "refused"


def test_the_example_validates_and_shows_every_setting():
    deployment = config.load(str(EXAMPLE))
    text = EXAMPLE.read_text()
    for setting in config.SETTINGS:  # set or commented out with its default
        assert config.line_of(text, setting.key) or f"# {setting.key.split('.')[-1]} = " in text, setting.key
    assert set(deployment.venues) == set(__import__("feeds.venues").venues.VENUES)
    for command in config.SETTINGS[0].flags:
        deployment.defaults_for(command)


def test_every_setting_the_example_comments_out_is_valid_where_it_stands(tmp_path):
    """Uncommented, each ``# key = value`` line of the example is a setting of the table it is written under, with
    a value it accepts (a key shown under the wrong table would be refused as unknown)."""
    import re

    text = re.sub(r"(?m)^# ([a-z_]+ = )", r"\1", EXAMPLE.read_text())
    assert text != EXAMPLE.read_text()
    deployment = config.load(_file(tmp_path, text), {})
    assert "feeds.batch_wait_us" in deployment.values and "aggregator.busy_poll" in deployment.values


def test_config_example_prints_the_checked_in_file(capsys):
    from tickagg import config_command

    assert config_command.run(argparse.Namespace(example=True, check=None)) == 0
    assert capsys.readouterr().out == EXAMPLE.read_text()


def test_config_check_prints_each_setting_with_its_source(tmp_path, capsys, monkeypatch):
    from tickagg import config_command

    monkeypatch.setenv("TICKAGG__WRITER__MEMORY_MB", "64")
    path = _file(tmp_path, "[writer]\nbatch_rows = 500\n[venues.okx]\nsymbols = ['BTC-USDT']\n")
    assert config_command.run(argparse.Namespace(example=False, check=path)) == 0
    lines = {line.split(" = ")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["writer.batch_rows"].split("#")[1].strip() == f"{path}:2"
    assert "64.0" in lines["writer.memory_mb"] and "environment TICKAGG__WRITER__MEMORY_MB" in lines["writer.memory_mb"]
    assert "4096" in lines["aggregator.max_symbols"] and lines["aggregator.max_symbols"].endswith("# default")
    assert '["BTC-USDT"]' in lines["venues.okx.symbols"] and "venues.binance.symbols" not in lines
