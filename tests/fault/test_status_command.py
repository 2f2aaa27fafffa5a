"""`tickagg status` over a real group started as separate processes, the way the systemd units start it (two feeds
on the simulator, the aggregator, the writer into chDB; no `tickagg run`): JSON snapshots with counters rising,
plain lines when piped, a SIGKILLed feed shown dead, and a group without rings refused."""
from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import uuid

import orjson
import pytest
from aggregator_helpers import start_aggregator
from feed_helpers import start_feed, stop_feed, wait_until
from import_probe import entry
from stores import need_chdb

from shm import segment
from shm.names import group_segments

pytestmark = pytest.mark.simulator(["binance", "okx"], rate=200)
VENUES = ("binance", "okx")
HOME, CLEAR = b"\x1b[H", b"\x1b[2J"


def status(group: str, *args: str, state_dir: str | None = None) -> subprocess.CompletedProcess:
    extra = ["--state-dir", state_dir] if state_dir else []
    return subprocess.run([sys.executable, "-m", "tickagg.cli", "status", group, *extra, *args],
                          capture_output=True, text=True, timeout=60)


def snapshot(running: dict, *args: str) -> dict:
    result = status(running["group"], "--json", *args, state_dir=running["state_dir"])
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout)


@pytest.fixture(scope="module")
def running(sim, tmp_path_factory):
    """One group for the module: a feed per venue, the aggregator and the writer, each its own process."""
    need_chdb()
    group = f"st{os.getpid()}x{uuid.uuid4().hex[:8]}"
    data = tmp_path_factory.mktemp("status")
    state_dir = str(data / "writer")
    feeds = {venue: start_feed(venue, sim.url(venue), group, list(sim.venue_stats(venue)["symbols"]))
             for venue in VENUES}
    aggregator = start_aggregator(group)
    writer = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "write", "--group", group, "--store",
                               f"chdb://{data / 'store'}", "--state-dir", state_dir],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    processes = [*feeds.values(), aggregator, writer]
    try:
        yield {"group": group, "state_dir": state_dir, "feeds": feeds}
    finally:
        for process in processes:  # SIGTERM to all, then wait for each (SIGKILL if it hangs)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            stop_feed(process)
        for name in group_segments(group):
            segment.remove(name)


def test_json_snapshot_of_a_running_group(running):
    def stored() -> dict | bool:
        result = status(running["group"], "--json", state_dir=running["state_dir"])  # exit 1 until a ring exists
        seen = result.returncode == 0 and orjson.loads(result.stdout)
        return seen and seen["writer"]["rows_stored"].get("ticks", 0) > 0 and seen["aggregator"]["tick_to_signal_p99_ms"] and seen
    first = wait_until(stored, 90, "ticks stored and a tick-to-signal p99", poll_s=0.5)
    later = snapshot(running, "--interval", "0.5")  # two snapshots 0.5 s apart, and their rates
    for venue in VENUES:
        feed = later["venues"][venue]
        assert feed["alive"] and feed["connections"] == 1 and feed["ticks"] > first["venues"][venue]["ticks"]
        assert feed["last_tick_age_s"] is not None and later["rates"]["venues"][venue]["ticks_per_s"] > 0
    aggregator, writer = later["aggregator"], later["writer"]
    assert aggregator["alive"] and aggregator["ticks"] > first["aggregator"]["ticks"] and aggregator["lag_s"] is not None
    assert 0 < aggregator["tick_to_signal_p99_ms"] < 60_000
    assert writer["alive"] and writer["store_up"] and writer["store_error"] is None and writer["report_error"] is None
    assert writer["rows_stored"]["ticks"] >= first["writer"]["rows_stored"]["ticks"]
    assert writer["report"] == os.path.join(running["state_dir"], running["group"], "status.json")
    assert later["unreadable"] == [] and later["rings"] >= 12


def test_piped_views_are_plain_lines(running):
    view = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "status", running["group"], "--state-dir",
                             running["state_dir"], "--interval", "0.2"], stdout=subprocess.PIPE, text=True)
    lines = []
    try:
        while sum(line.startswith("tickagg group ") for line in lines) < 3:
            line = view.stdout.readline()
            assert line, f"the view ended: {lines}"
            lines.append(line)
    finally:
        view.send_signal(signal.SIGINT)
        assert view.wait(30) == 0  # Ctrl-C ends a watch normally
    text = "".join(lines)
    assert "\x1b" not in text
    assert [line.split()[0] for line in lines[:4]] == ["tickagg", "venue", "binance", "okx"]
    rates = [line.split()[4] for line in lines if line.startswith("binance")]
    assert rates[0] == "-/s" and rates[-1] != "-/s"  # the second view has a rate
    assert any(line.startswith("aggregator yes") for line in lines) and any(line.startswith("writer     yes") for line in lines)


def test_a_terminal_view_is_redrawn_in_place(running):
    leader, follower = pty.openpty()
    view = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "status", running["group"], "--state-dir",
                             running["state_dir"], "--interval", "0.2"], stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    shown = b""
    try:
        while shown.count(HOME + CLEAR) < 3:  # the second frame is whole once the third begins (a pty read may
            shown += os.read(leader, 65536)  # return part of a frame: CI once saw it cut before its last line)
    finally:
        view.send_signal(signal.SIGINT)
        assert view.wait(30) == 0
        os.close(leader)
    assert shown.startswith(HOME + CLEAR)
    second = shown.split(HOME + CLEAR)[2].decode()
    assert "Ctrl-C quits" in second and "binance" in second and "/s" in second


def test_a_killed_feed_is_shown_dead(running):
    okx = running["feeds"]["okx"]
    okx.send_signal(signal.SIGKILL)
    okx.wait(10)
    seen = snapshot(running)
    assert seen["venues"]["okx"]["alive"] is False and seen["venues"]["okx"]["connections"] == 0
    assert seen["venues"]["binance"]["alive"] and seen["venues"]["binance"]["connections"] == 1
    once = subprocess.run([sys.executable, "-c", entry(("numba", "llvmlite")), "status", running["group"], "--once",
                           "--state-dir", running["state_dir"]], capture_output=True, text=True, timeout=60)
    assert once.returncode == 0 and next(line for line in once.stdout.splitlines() if line.startswith("okx")).split()[1] == "DEAD"
    assert once.stdout.splitlines()[-1] == "imported:"  # a cheap viewer: no Numba


def test_a_group_without_rings_is_refused(running):
    result = status(f"none{uuid.uuid4().hex[:8]}")
    assert result.returncode == 1 and "has no rings in shared memory" in result.stderr and not result.stdout
