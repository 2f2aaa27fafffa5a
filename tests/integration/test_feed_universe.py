"""`tickagg feed VENUE --symbols all` against real processes: the simulator's port answers the venue's instrument
list over plain HTTP (and 404 elsewhere) and stays a WebSocket server; a feed whose venue cannot be asked says so
in one line and exits 1, unless it has an earlier resolution, which it then uses with a warning."""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.simulator(["okx"], rate=50)


def _http(sim) -> str:
    return sim.url("okx").replace("ws://", "http://", 1)


def test_the_venue_port_answers_its_instrument_list_and_stays_a_websocket_server(sim):
    with urllib.request.urlopen(_http(sim) + "/api/v5/public/instruments?instType=SPOT", timeout=10) as answer:
        listed = json.load(answer)
    assert listed["code"] == "0"
    spot = {row["instId"]: row["state"] for row in listed["data"]}
    assert {"BTC-USDT", "ETH-USDT"} <= set(spot) and "BTC-USDT-SWAP" not in spot and "suspend" in spot.values()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(_http(sim) + "/api/v5/nothing", timeout=10)
    assert caught.value.code == 404
    host, port = sim.url("okx").removeprefix("ws://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # the same port still upgrades
        sock.sendall(b"GET /ws/v5/public HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 101 ")


def _feed(sim, group: str, state: str, rest_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tickagg.cli", "feed", "okx", "--symbols", "all", "--group", group,
         "--url", sim.url("okx"), "--rest-url", rest_url, "--state-dir", state],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _line_with(process: subprocess.Popen, words: str, timeout: float = 60) -> str:
    """Read stderr until a line holds ``words`` (the process keeps running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], max(0.0, deadline - time.monotonic()))
        line = process.stderr.readline() if ready else ""
        if words in line:
            return line
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no line with {words!r} (exit {process.poll()})")


def test_an_unreachable_venue_list_with_no_earlier_resolution_stops_the_feed_in_one_line(sim, group, tmp_path):
    feed = _feed(sim, group, str(tmp_path), "http://127.0.0.1:1")
    _, err = feed.communicate(timeout=60)
    assert feed.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("tickagg feed:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "okx: http://127.0.0.1:1/api/v5/public/instruments?instType=" in lines[0]
    assert f"no earlier resolution in {tmp_path / group / 'universe'}" in lines[0]


def test_the_last_good_resolution_carries_the_feed_through_a_venue_outage(sim, group, tmp_path):
    feed = _feed(sim, group, str(tmp_path), _http(sim))
    try:
        line = _line_with(feed, "resolved to")
        assert '"all" resolved to 5 symbols' in line  # BTC-USDT, ETH-USDT, ETH-BTC, BTC-USDT-SWAP, the future
    finally:
        feed.send_signal(signal.SIGTERM)
        feed.communicate(timeout=30)
    cached = json.loads((tmp_path / group / "universe" / "okx.json").read_text())
    assert cached["symbols"][:2] == ["BTC-USDT", "ETH-USDT"] and oct(
        os.stat(tmp_path / group / "universe" / "okx.json").st_mode & 0o777) == "0o600"
    feed = _feed(sim, group, str(tmp_path), "http://127.0.0.1:1")  # the venue's REST is down now
    try:
        line = _line_with(feed, "last good resolution")
        assert "okx: http://127.0.0.1:1/" in line and "(5 symbols, resolved at" in line
        _line_with(feed, "okx: connected to")  # and the feed runs on with them
    finally:
        feed.send_signal(signal.SIGTERM)
        feed.communicate(timeout=30)
