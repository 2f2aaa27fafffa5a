"""`tickagg write` whose store never answers (wrong password, nothing on the port) says so at start, with the
reason and never the password, and a timed run exits non-zero."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from shm import segment
from shm.names import group_segments

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write(url: str, tmp_path, seconds: float = 3.0, password: str | None = None) -> subprocess.CompletedProcess:
    group = f"u{os.getpid()}x{time.monotonic_ns() % 10**8}"
    env = {**os.environ, "PYTHONPATH": REPO, "TICKAGG_GROUP": group}
    env.pop("CLICKHOUSE_PASSWORD", None)
    if password is not None:
        env["CLICKHOUSE_PASSWORD"] = password
    try:
        return subprocess.run([sys.executable, "-m", "tickagg", "write", "--store", url, "--state-dir",
                               str(tmp_path / "state"), "--seconds", str(seconds), "--report", str(tmp_path / "report.json")],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    finally:  # the writer's published latency histogram (shm/histogram_segment.py) outlives it, like a ring
        for name in group_segments(group):
            segment.remove(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wrong_password_is_said_at_start_and_fails_the_timed_run(clickhouse_server, tmp_path):
    secret = "not-the-Password-42"
    url = clickhouse_server.url(database="tickagg_wrongpw", password=None)
    started = time.monotonic()
    result = _write(url, tmp_path, password=secret)
    assert result.returncode == 1, result
    assert "authentication failed for user 'writer'" in result.stderr
    assert "never answered" in result.stderr
    assert secret not in result.stderr + result.stdout
    first = result.stderr.index("authentication failed")
    assert "is down for 0 s" in result.stderr[:first + 400]  # said at once, not after the run
    assert time.monotonic() - started < 60


def test_unreachable_port_is_said_at_start_and_fails_the_timed_run(tmp_path):
    port = _free_port()
    result = _write(f"clickhouse://writer:s3cret-pw@127.0.0.1:{port}/tickagg", tmp_path, seconds=2.0)
    assert result.returncode == 1, result
    assert f"127.0.0.1:{port}" in result.stderr and "Connection refused" in result.stderr
    assert "never answered in 2 s" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_store_that_answers_exits_zero(clickhouse_server, tmp_path):
    result = _write(clickhouse_server.url(database="tickagg_answers"), tmp_path, seconds=1.0)
    assert result.returncode == 0, result
    assert "never answered" not in result.stderr and "is down" not in result.stderr
