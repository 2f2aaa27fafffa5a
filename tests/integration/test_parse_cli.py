"""`tickagg parse` as a subprocess over the recorded venue frames (tests/support/exchange_samples)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from samples import assert_ticks, frames_of, sample_lines

from feeds.venues import VENUES

REPO = Path(__file__).resolve().parents[2]


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
    assert result.returncode == 1  # a line was bad
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
