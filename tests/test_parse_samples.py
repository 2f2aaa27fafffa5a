"""Recorded venue frames (tests/exchange_samples/*.jsonl) through the real parsers and the CLI.

Each sample line has ``raw`` and the live ticks it must give (``expected``), plus
``snapshot_trades`` for frames the venue replays on subscribe. One Parser per
file, frames in file order, so per-connection state (Bitfinex chanIds) works.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.trade import SIDE_NAMES
from feeds.venues import VENUES, venue
from shm.records import FLAG_SNAPSHOT

REPO = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "exchange_samples"


def sample_lines(name: str) -> list[dict]:
    with open(SAMPLES / f"{name}.jsonl", encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def frames_of(sample: dict) -> list[str]:
    """The frames to feed for one sample: the ``subscribed`` events its context
    says the parser has seen (Bitfinex), then the raw frame itself."""
    mapping = sample.get("context", {}).get("chanId_to_symbol", {})
    setup = [json.dumps({"event": "subscribed", "channel": "trades", "chanId": int(chan_id),
                         "symbol": symbol, "pair": symbol[1:]}) for chan_id, symbol in mapping.items()]
    return setup + [sample["raw"]]


def same_float(got: float, want: float) -> bool:
    return got == want or math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)


def assert_ticks(got: list[dict], want: list[dict], where: str) -> None:
    assert len(got) == len(want), f"{where}: {len(got)} ticks, expected {len(want)}: {got}"
    for tick, expected in zip(got, want):
        for field in ("symbol", "side", "ts_ns", "trade_id"):
            assert tick[field] == expected[field], f"{where}: {field} {tick[field]!r} != {expected[field]!r}"
            assert type(tick[field]) is type(expected[field]), f"{where}: {field} type"
        for field in ("price", "size"):
            assert same_float(tick[field], expected[field]), f"{where}: {field} {tick[field]!r} != {expected[field]!r}"


def as_dict(trade) -> dict:
    return {"symbol": trade.symbol, "price": trade.price, "size": trade.size,
            "side": SIDE_NAMES[trade.side], "ts_ns": trade.ts_ns, "trade_id": trade.trade_id}


@pytest.mark.parametrize("name", sorted(VENUES))
def test_samples_give_expected_ticks(name: str) -> None:
    parser = venue(name).Parser()
    samples = sample_lines(name)
    assert samples, f"no samples for {name}"
    for number, sample in enumerate(samples, 1):
        where = f"{name}.jsonl line {number} ({sample['kind']})"
        live = []
        for frame in frames_of(sample):
            live.extend(parser.parse(frame))
        assert all(trade.flags == 0 for trade in live), where
        assert_ticks([as_dict(trade) for trade in live], sample["expected"], where)
        replayed, parser.replayed[:] = list(parser.replayed), []
        assert all(trade.flags == FLAG_SNAPSHOT for trade in replayed), where
        assert_ticks([as_dict(trade) for trade in replayed], sample.get("snapshot_trades", []), where + " replay")
        assert parser.replies == [], where


@pytest.mark.parametrize("name", sorted(VENUES))
def test_samples_also_parse_as_bytes(name: str) -> None:
    """websocket-client may hand over bytes; orjson reads both."""
    by_text, by_bytes = venue(name).Parser(), venue(name).Parser()
    for sample in sample_lines(name):
        for frame in frames_of(sample):
            assert by_bytes.parse(frame.encode()) == by_text.parse(frame)


def test_every_venue_has_samples_and_the_form() -> None:
    assert sorted(VENUES) == sorted(path.stem for path in SAMPLES.glob("*.jsonl"))
    for name, module in VENUES.items():
        assert module.NAME == name
        assert module.URL.startswith("wss://")
        assert isinstance(module.url_for(module.URL, ["BTCUSDT"]), str)
        assert all(isinstance(frame, str) for frame in module.subscribe_messages(["BTCUSDT"]))
        assert all(isinstance(frame, str) for frame in module.on_connect_messages())
        assert (module.PING_TEXT is None) == (module.PING_INTERVAL_S is None)
        assert module.STALE_AFTER_S > (module.PING_INTERVAL_S or 0)


def test_unknown_venue_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="binance"):
        venue("mtgox")


def run_cli(name: str, stdin: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", "parse", name, *extra], input=stdin.encode(),
                          capture_output=True, cwd=REPO, timeout=30, check=False)


@pytest.mark.parametrize("name", sorted(VENUES))
def test_cli_prints_expected_ticks(name: str) -> None:
    samples = sample_lines(name)
    frames = [frame for sample in samples for frame in frames_of(sample)]
    result = run_cli(name, "\n".join(frames) + "\n")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    got = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert all(tick["exchange"] == name for tick in got)
    assert all(set(tick) == {"exchange", "symbol", "price", "size", "side", "ts_ns", "trade_id"} for tick in got)
    assert_ticks(got, [tick for sample in samples for tick in sample["expected"]], f"tickagg parse {name}")


def test_cli_reports_bad_lines_and_goes_on() -> None:
    good = sample_lines("okx")[0]
    error = '{"event":"error","code":"60018","msg":"nope"}'
    stdin = "\n".join([good["raw"], "", "{not json", "pong", good["raw"] + "\r", error])
    result = run_cli("okx", stdin)  # no trailing newline on the last line
    assert result.returncode == 0
    assert len(result.stdout.decode().splitlines()) == 2
    errors = result.stderr.decode().splitlines()
    assert [line.split(":")[:2] for line in errors] == [["line 3", " json"], ["line 6", " venue_error"]]


def test_cli_replayed_flag_prints_snapshot_trades() -> None:
    samples = sample_lines("bitmex")
    result = run_cli("bitmex", "\n".join(sample["raw"] for sample in samples), "--replayed")
    ticks = [json.loads(line) for line in result.stdout.decode().splitlines()]
    replayed = [tick for tick in ticks if tick.get("replayed")]
    assert_ticks(replayed, [t for sample in samples for t in sample.get("snapshot_trades", [])], "bitmex replay")


def test_cli_flushes_each_chunk_inside_a_pipe() -> None:
    """A trade comes out while stdin is still open (the command sits in a live pipe)."""
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "parse", "okx"], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(sample_lines("okx")[0]["raw"].encode() + b"\n")
        proc.stdin.flush()
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=10)
        assert lines and json.loads(lines[0])["trade_id"] == "7849"
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0
