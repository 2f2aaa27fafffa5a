"""Bad arguments to every `tickagg` subcommand: one line on stderr, exit status 2, no traceback, nothing started.

Each case is a real ``python -m tickagg ...`` process; the words checked are those
that name the bad option or value, so the message says what to fix.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from tickagg.cli import COMMANDS

DERIBIT_33_CONNECTIONS = ",".join(f"D{i}" for i in range(32 * 500 + 1))  # 32 connections of 500 at most
CASES = [
    # (arguments, words the one line must contain)
    (["feed", "binance", "--url", "http://x"], ["--url", "http://x"]),
    (["feed", "binance", "--url", "notaurl"], ["--url", "notaurl"]),
    (["feed", "binance", "--url", "ws://"], ["--url", "no host"]),
    (["feed", "binance", "--url", "ws://h:99999"], ["--url"]),
    (["feed", "binance", "--symbols", "all", "--rest-url", "file:///etc/passwd"], ["--rest-url", "http://"]),
    (["feed", "binance", "--symbols", "all", "--rest-url", "http://h:99999"], ["--rest-url", "Port"]),
    (["feed", "binance", "--log-level", "nosuch"], ["--log-level", "nosuch"]),
    (["feed", "binance", "--symbols", ",,,"], ["--symbols", "empty"]),
    (["feed", "binance", "--symbols", "BTCUSDT,,ETHUSDT"], ["--symbols", "empty"]),
    (["feed", "binance", "--symbols", "BTC USDT"], ["--symbols", "whitespace"]),
    (["feed", "binance", "--symbols", "X" * 80], ["--symbols", "bytes"]),
    (["feed", "deribit", "--symbols", DERIBIT_33_CONNECTIONS], ["--symbols", "33 connections", "32"]),
    (["feed", "binance", "--stale-after", "-1"], ["--stale-after", "positive"]),
    (["feed", "binance", "--stale-after", "0"], ["--stale-after", "positive"]),
    (["feed", "binance", "--max-lifetime", "-3"], ["--max-lifetime"]),
    (["feed", "binance", "--batch-wait-us", "5001"], ["--batch-wait-us", "5000"]),
    (["feed", "nosuchvenue"], ["nosuchvenue"]),
    (["parse", "nosuchvenue"], ["nosuchvenue"]),
    (["feed", "okx", "--protocol", "advanced"], ["--protocol", "okx has one protocol"]),
    (["feed", "coinbase", "--protocol", "fix"], ["--protocol", "fix"]),
    (["parse", "kraken", "--protocol", "advanced"], ["--protocol", "kraken has one protocol"]),
    (["aggregate", "--cpu", "-1"], ["--cpu"]),
    (["aggregate", "--cpu", "4096"], ["--cpu", "4096"]),
    (["aggregate", "--max-symbols", "0"], ["--max-symbols"]),
    (["aggregate", "--lateness-ms", "1000"], ["--lateness-ms"]),
    (["aggregate", "--spin-us", "nan"], ["--spin-us", "finite"]),
    (["aggregate", "--idle-sleep-us", "-5"], ["--idle-sleep-us"]),
    (["aggregate", "--fill-minutes", "-1"], ["--fill-minutes"]),
    (["aggregate", "--seconds", "0"], ["--seconds"]),
    (["aggregate", "--log-level", "loud"], ["--log-level", "loud"]),
    (["run", "--simulate", "--rate", "-5"], ["--rate", "-5"]),
    (["run", "--seconds", "-1"], ["--seconds"]),
    (["run", "--status-every", "0"], ["--status-every"]),
    (["run", "--exchanges", "binance,nosuch"], ["--exchanges", "nosuch"]),
    (["run", "--exchanges", "binance,,okx"], ["--exchanges"]),
    (["run", "--exchanges", "okx,okx"], ["--exchanges", "twice"]),
    (["run", "--store", "mysql://u:hunter2@h/db"], ["--store", "mysql"]),
    (["write", "--batch-rows", "0"], ["--batch-rows"]),
    (["write", "--batch-rows", "ten"], ["--batch-rows", "ten"]),
    (["write", "--batch-ms", "-1"], ["--batch-ms"]),
    (["write", "--max-batch-rows", "-100"], ["--max-batch-rows"]),
    (["write", "--max-batch-mb", "0"], ["--max-batch-mb"]),
    (["write", "--memory-mb", "-1"], ["--memory-mb"]),
    (["write", "--retention-days", "-1"], ["--retention-days"]),
    (["write", "--seconds", "inf"], ["--seconds", "finite"]),
    (["write", "--ring", "nosuch"], ["--ring", "nosuch"]),
    (["write", "--spill-fsync", "sometimes"], ["--spill-fsync"]),
    (["write", "--store", "clickhouse://u:hunter2@h/db?verify=0"], ["verify"]),
    (["write", "--store", "clickhouses://u:hunter2@h/db?ca=/no/such.pem"], ["/no/such.pem"]),
    (["query", "SELECT 1", "--store", "clickhouse://u:hunter2@/db"], ["no host"]),
    (["simulate", "--port", "70000"], ["--port"]),
    (["simulate", "--control-port", "-1"], ["--control-port"]),
    (["simulate", "--rate", "-5"], ["-5"]),
    (["simulate", "--exchanges", "nosuch"], ["nosuch"]),
    (["simulate", "--heartbeat-scale", "0"], ["--heartbeat-scale"]),
    (["simulate", "--seconds", "-2"], ["--seconds"]),
    (["tail", "out.ticks", "--count", "0"], ["--count"]),
    (["features", "--bogus"], ["--bogus"]),
    (["summary", "--symbols", "0"], ["--symbols"]),
    (["summary", "--group", "a b"], ["a b"]),
    (["rings", "--json", "extra", "more"], ["more"]),
    (["bench", "ring", "--seconds", "0"], ["--seconds"]),
    (["bench", "ring", "--repeats", "0"], ["--repeats"]),
    (["bench", "ring", "--samples", "-1"], ["--samples"]),
    (["bench", "ring", "--gap-us", "-1"], ["--gap-us"]),
    (["bench", "fanin", "--rate", "-1"], ["--rate"]),
    (["bench", "fanin", "--symbols-per-exchange", "0"], ["--symbols-per-exchange"]),
    (["bench", "feed", "--drops", "-1"], ["--drops"]),
    (["bench", "feed", "--exchange", "nosuch"], ["nosuch"]),
    (["bench", "features", "--symbols", "0"], ["--symbols"]),
    (["bench", "features", "--warmup-bars", "-1"], ["--warmup-bars"]),
    (["bench", "writer", "--stores", "mysql"], ["--stores", "mysql"]),
    (["bench", "writer", "--max-batch-rows", "0"], ["--max-batch-rows"]),
    (["bench", "outage", "--seconds", "-10"], ["--seconds"]),
    (["bench", "outage", "--rate", "0"], ["--rate"]),
    (["bench", "nosuch"], ["nosuch"]),
    (["nosuch"], ["nosuch"]),
    (["config"], ["--example", "--check"]),
    (["config", "--check", "/no/such.toml"], ["/no/such.toml", "cannot read"]),
    (["config", "--example", "--check", "x.toml"], ["--check", "--example"]),
    (["run", "--config", "/no/such.toml"], ["/no/such.toml"]),
    (["feed", "binance", "--config", "/no/such.toml"], ["/no/such.toml"]),
    (["feed", "binance", "--ring-capacity", "1000"], ["--ring-capacity", "power of two"]),
    (["feed", "binance", "--buffer-seconds", "0"], ["--buffer-seconds", "positive"]),
    (["feed", "binance", "--buffer-seconds", "600", "--venue-peak-rate", "1e8"],
     ["--buffer-seconds x --venue-peak-rate", "more than"]),
    (["aggregate", "--output-seconds", "60", "--peak-rate", "1e7"], ["--output-seconds x --peak-rate", "more than"]),
    (["write", "--log-level", "loud"], ["--log-level", "loud"]),
    (["dashboard", "--port", "70000"], ["--port", "70000"]),
    (["dashboard", "--store", "mysql://u:hunter2@h/db"], ["--store", "mysql"]),
    (["dashboard", "--group", "a.b"], ["a.b"]),
    (["status", "a.b"], ["a.b"]),
    (["status", "--interval", "0"], ["--interval"]),
]


def test_every_subcommand_has_a_case():
    assert {args[0] for args, _ in CASES} >= set(COMMANDS)


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_argument_is_one_line_and_exit_2(args, words):
    result = subprocess.run([sys.executable, "-m", "tickagg", *args], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and result.stdout == "", result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "hunter2" not in result.stderr
