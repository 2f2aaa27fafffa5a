"""`tickagg dashboard` beside a live group (simulator -> feeds -> aggregator -> writer -> chDB): the JSON endpoints,
the writer's query socket, and the page in headless Chromium, whose every chart must draw points from the group.

The screenshot is kept at tests/artifacts/dashboard.png (gitignored) and its path printed. Chromium is Debian's
``chromium`` (``make test`` installs it); without it the browser test is skipped, or fails under
TICKAGG_REQUIRE_STORES=1 like a missing store.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from dashboard_process import get, start_dashboard, stop, wait_for
from stores import missing, need_chdb

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VENUES = ("binance", "okx")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A group of two simulated venues storing into chDB, and a dashboard on it, once data is stored."""
    need_chdb()
    root = tmp_path_factory.mktemp("dash")
    group = f"dash{uuid.uuid4().hex[:8]}"
    store = f"chdb://{root / 'chdb'}"
    run = subprocess.Popen([sys.executable, "-m", "tickagg", "run", "--simulate", "--exchanges", ",".join(VENUES),
                            "--rate", "200", "--group", group, "--data-dir", str(root), "--store", store, "--status-every", "60"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    dashboard = None
    try:
        dashboard, base = start_dashboard("--group", group, "--state-dir", str(root / "writer"), "--store", store)

        def stored():  # every panel of the page has points (the regime panel: its symbol's price)
            status, symbols = get(f"{base}/api/symbols")
            if status != 200 or not symbols["symbols"]:
                return None
            symbol = symbols["symbols"][0]["symbol_id"]
            for name in ("tick_to_store", "ticks_per_second", "feed_events", "writer"):
                if get(f"{base}/api/panel/{name}?range=300")[1].get("points", 0) == 0:
                    return None
            return get(f"{base}/api/panel/regime?range=300&symbol_id={symbol}")[1].get("points", 0) > 0

        wait_for(stored, "the group stored ticks, latency rows and bars and the dashboard reads them")
        yield {"base": base, "group": group, "root": root}
    finally:
        if dashboard is not None:
            stop(dashboard)
        os.killpg(run.pid, signal.SIGKILL)  # the group and its simulator (one process group): nothing here is kept
        run.wait(30)
        subprocess.run([sys.executable, "-m", "tickagg", "rings", "--remove", group], capture_output=True, timeout=60)


def chromium(url: str, profile: Path, *output: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
         "--virtual-time-budget=3000", "--window-size=1400,1800", *output, url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)


def test_every_chart_in_chromium_draws_points_from_the_live_group(live, tmp_path):
    if shutil.which("chromium") is None:
        missing("chromium is not installed (make test installs Debian's chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    browser = chromium(live["base"] + "/", tmp_path / "profile", "--dump-dom", f"--screenshot={screenshot}")
    try:
        dom = browser.communicate(timeout=90)[0].decode()
    finally:
        if browser.poll() is None:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait(10)
    panels = [p["name"] for p in get(live["base"] + "/api/panels")[1]["panels"]]
    drawn = dict(re.findall(r'data-panel="([a-z_0-9]+)" data-points="(\d+)"', dom))
    assert set(drawn) == set(panels), dom[-3000:]
    assert {name: int(points) for name, points in drawn.items() if int(points) == 0} == {}
    sections = dict(re.findall(r'data-panel="([a-z_0-9]+)"(.*?)</section>', dom, re.S))
    for venue in VENUES:  # the series are the group's venues, drawn by uPlot (its legend)
        assert f'u-label">{venue} p99<' in sections["tick_to_store"], sections["tick_to_store"][-2000:]
    assert "uplot" in sections["tick_to_signal"]
    assert screenshot.stat().st_size > 10_000
    print(f"\ndashboard screenshot: {screenshot}")


def test_endpoints_refuse_bad_requests_with_a_reason(live):
    base = live["base"]
    for path, status, reason in [("/api/panel/tick_to_store?range=5", 400, "range"),
                                 ("/api/panel/tick_to_store?range=300&exchange=nasdaq", 400, "exchange"),
                                 ("/api/panel/tick_to_store?range=300&sql=SELECT%201", 400, "unknown parameter"),
                                 ("/api/panel/regime?range=300&symbol_id=99999", 400, "symbol_id"),
                                 ("/api/panel/regime?range=300", 400, "symbol_id"),
                                 ("/api/panel/system.tables", 404, "no panel"),
                                 ("/static/../server.py", 404, "not here"),
                                 ("/etc/passwd", 404, "not here")]:
        code, body = get(base + path)
        assert (code, reason in body["error"]) == (status, True), (path, code, body)
    code, body = get(base + "/api/panels", headers={"Host": "attacker.example:80"})
    assert code == 403
    code, body = get(base + "/api/panel/tick_to_store?range=300&exchange=okx")
    assert code == 200 and body["points"] > 0 and {s["label"].split()[0] for s in body["series"]} == {"okx"}
    code, body = get(base + "/api/live")
    assert code == 200 and set(body["feed_counters"]) >= {f"{venue} drops" for venue in VENUES}


def ask(path: str, payload: bytes) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(path)
        conn.sendall(payload)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    return orjson.loads(reply)


def test_the_writer_socket_is_private_and_runs_named_panels_only(live):
    path = str(live["root"] / "writer" / live["group"] / "dashboard.sock")
    info = os.lstat(path)
    assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    hostile = [b"DROP TABLE tickagg.ticks\n", b"[1, 2]\n", b'{"panel": "ticks; DROP TABLE tickagg.ticks", "params": {}}\n',
               b'{"panel": "tick_to_store", "params": {"from_s": "0 OR 1", "to_s": 300}}\n',
               b'{"panel": "tick_to_store", "params": {"from_s": 0, "to_s": 300}, "sql": "SELECT 1"}\n',
               b"x" * 10_000 + b"\n"]
    for payload in hostile:
        assert "error" in ask(path, payload), payload[:60]
    now = int(wait_for(lambda: get(live["base"] + "/api/live")[1]["time_s"], "live"))
    answer = ask(path, orjson.dumps({"panel": "ticks_per_second", "params": {"from_s": now - 300, "to_s": now}}) + b"\n")
    assert answer["results"][0], answer  # the writer still answers, and the ticks are still there
