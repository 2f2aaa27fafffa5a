"""``tickagg simulate`` prints its URLs and control address, serves, prints final stats;
``start_simulator`` never leaves a process behind."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import SimulatorError, start_simulator

REPO = Path(__file__).resolve().parents[2]


def simulate(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", "simulate", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (probed, then released)."""
    for base in range(23_000, 60_000, 97):
        probes = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    pytest.skip("no run of free ports")


def test_prints_one_url_per_venue_then_control_then_final_stats():
    done = simulate("--exchanges", "okx,kraken", "--seconds", "0.5", "--symbols", "okx=BTC-USDT")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line.get("venue") for line in lines[:2]] == ["okx", "kraken"]
    assert all(line["url"].startswith("ws://127.0.0.1:") for line in lines[:2])
    assert lines[0]["symbols"] == ["BTC-USDT"] and lines[1]["symbols"] == ["BTC/USD", "ETH/USD", "SOL/USD"]
    assert "control" in lines[2]
    assert set(lines[3]["stats"]["venues"]) == {"okx", "kraken"}


def test_venues_take_consecutive_ports():
    base = free_port_run(3)
    done = simulate("--exchanges", "binance,okx,bitmex", "--port", str(base), "--seconds", "0.2")
    assert done.returncode == 0, done.stderr
    ports = [json.loads(line)["port"] for line in done.stdout.splitlines()[:3]]
    assert ports == [base, base + 1, base + 2]


def test_unknown_exchange_is_refused_with_its_name():
    done = simulate("--exchanges", "nasdaq")
    assert done.returncode == 2 and "nasdaq" in done.stderr


def test_handle_stop_returns_final_stats_and_ends_the_process():
    sim = start_simulator(["okx"], rate=10)
    assert sim.url("okx").startswith("ws://127.0.0.1:")
    final = sim.stop()
    assert sim.process.poll() is not None
    assert final is not None and "okx" in final["venues"]


def test_the_simulator_stops_when_its_parent_goes_away():
    sim = start_simulator(["gemini"], rate=10)
    try:
        sim.process.stdin.close()  # what a parent's death does
        assert sim.process.wait(5) == 0
    finally:
        sim.stop()


def test_control_errors_are_reported():
    with start_simulator(["okx"], rate=10) as sim:
        with pytest.raises(SimulatorError, match="unknown command"):
            sim.command(cmd="dance")
        with pytest.raises(SimulatorError, match="stall needs seconds"):
            sim.fault("okx", "stall")


def test_rate_per_venue():
    done = simulate("--exchanges", "okx,kraken", "--rate", "5,okx=max", "--seconds", "0.2")
    assert done.returncode == 0, done.stderr
    venues = json.loads(done.stdout.splitlines()[-1])["stats"]["venues"]
    assert venues["okx"]["rate"] == "max" and venues["kraken"]["rate"] == 5.0


def test_sigterm_ends_the_command_with_final_stats():
    process = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "simulate", "--exchanges", "bybit"],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(process.stdout.readline())["venue"] == "bybit"
        assert "control" in json.loads(process.stdout.readline())
        process.terminate()
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "bybit" in json.loads(out)["stats"]["venues"]
