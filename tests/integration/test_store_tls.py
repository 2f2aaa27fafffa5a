"""ClickHouse over TLS: a private clickhouse-server 18.16 with a certificate generated here (openssl req -x509,
CN/SAN 127.0.0.1 and localhost). The writer inserts with the right CA; verification is always on, so a wrong CA
or none fails with a clear message; the password travels by environment, never on a command line or in a log."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest
from stores import missing

from bench.clickhouse_server import PASSWORD, LocalServer, ServerError, server_binary
from bench.writer_command import create_ring, make_ticks
from shm.pipeline_records import STAMPED_TICK
from shm.ring import PRODUCER, Ring, ring_name
from store import open_store, parse
from store.url import PASSWORD_ENV


def _certificate(directory, name: str, san: str = "IP:127.0.0.1,DNS:localhost") -> tuple[str, str]:
    """A self-signed certificate (by default for 127.0.0.1 and localhost): (certificate file, key file)."""
    cert, key = str(directory / f"{name}.crt"), str(directory / f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName={san}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(server with TLS, its certificate = the CA to trust, another self-signed certificate = a wrong CA)."""
    if server_binary() is None:
        missing("clickhouse-server is not installed (make test installs Debian's clickhouse-server)")
    if shutil.which("openssl") is None:
        missing("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = _certificate(directory, "server")
    wrong, _ = _certificate(directory, "other")
    try:
        server = LocalServer(tls=(cert, key)).start()
    except ServerError as exc:
        pytest.fail(str(exc))
    yield server, cert, wrong
    server.cleanup()


def _env() -> dict:
    return {**os.environ, PASSWORD_ENV: PASSWORD}


def _count(url: str, sql: str) -> int:
    store = open_store(parse(url, _env()))
    try:
        store.connect()
        return int(store.execute(sql)[0][0])
    finally:
        store.close()


def test_writer_inserts_over_tls_with_the_password_from_its_environment(tls, group, tmp_path):
    server, ca, _ = tls
    url = f"{server.url(database='tls_ok', password=None, secure=True)}?ca={ca}"
    create_ring(group)
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK) as ring:
        assert ring.push_batch(make_ticks(0, 2000, time.time_ns())) == 2000
    log_path = tmp_path / "writer.log"
    with open(log_path, "wb") as log:
        writer = subprocess.Popen([sys.executable, "-m", "tickagg", "write", "--group", group, "--store", url,
                                   "--state-dir", str(tmp_path / "state"), "--ring", "out.ticks", "--verbose"],
                                  stdout=log, stderr=subprocess.STDOUT, env=_env())
    try:
        command_line, deadline = "", time.monotonic() + 10
        while "tickagg" not in command_line and time.monotonic() < deadline:  # empty until the child has exec'd
            command_line = " ".join(psutil.Process(writer.pid).cmdline())
        assert PASSWORD not in command_line and "clickhouses://writer@127.0.0.1" in command_line
        stored, deadline = 0, time.monotonic() + 120
        while stored < 2000 and time.monotonic() < deadline and writer.poll() is None:
            time.sleep(0.5)
            try:
                stored = _count(url, "SELECT count() FROM tls_ok.ticks")
            except Exception:  # noqa: BLE001 — the writer has not created the table yet
                stored = 0
        assert stored == 2000, log_path.read_text()[-2000:]
        assert _count(url, "SELECT uniqExact(seq) FROM tls_ok.ticks") == 2000
    finally:
        writer.terminate()
        writer.wait(30)
    assert PASSWORD not in log_path.read_text()


@pytest.mark.parametrize("which", ["wrong CA", "no CA"])
def test_unverifiable_server_fails_with_a_clear_message(tls, which):
    server, _, wrong = tls
    url = server.url(database="tls_bad", password=None, secure=True) + (f"?ca={wrong}" if which == "wrong CA" else "")
    result = subprocess.run([sys.executable, "-m", "tickagg", "query", "SELECT 1", "--store", url],
                            capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 1, result.stderr
    assert "certificate verify failed" in result.stderr and "clickhouses://writer" in result.stderr, result.stderr
    assert PASSWORD not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_host_name_is_verified_too(tls, tmp_path):  # tls: skips where clickhouse-server or openssl is missing
    """A certificate the CA vouches for, but issued to another name than the one connected to, is refused."""
    cert, key = _certificate(tmp_path, "localhost-only", san="DNS:localhost")
    with LocalServer(tls=(cert, key)) as server:
        for host, good in (("localhost", True), ("127.0.0.1", False)):
            url = f"clickhouses://writer@{host}:{server.tcp_port_secure}/tls_name?ca={cert}"
            result = subprocess.run([sys.executable, "-m", "tickagg", "query", "SELECT 1", "--store", url],
                                    capture_output=True, text=True, timeout=60, env=_env())
            assert (result.returncode == 0) is good and "Traceback" not in result.stderr, (host, result.stderr)
            if not good:
                assert "certificate verify failed" in result.stderr and "mismatch" in result.stderr, result.stderr
                assert PASSWORD not in result.stderr


def test_run_hands_the_password_to_the_writer_by_environment(tls, group, tmp_path):
    server, ca, _ = tls
    url = f"{server.url(database='tls_run', secure=True)}?ca={ca}"  # the password in the URL given to `run`
    data = tmp_path / "data"
    run = subprocess.Popen([sys.executable, "-m", "tickagg", "run", "--exchanges", "binance", "--group", group,
                            "--store", url, "--data-dir", str(data), "--seconds", "60", "--status-every", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        writer, deadline = None, time.monotonic() + 30
        while writer is None and time.monotonic() < deadline:
            writer = next((p for p in psutil.Process(run.pid).children() if "tickagg.cli" in p.cmdline()
                           and "write" in p.cmdline()), None)
            time.sleep(0.1)
        assert writer is not None
        command_line = " ".join(writer.cmdline())
        assert PASSWORD not in command_line and "clickhouses://writer@127.0.0.1" in command_line and "ca=" in command_line
        assert writer.environ().get(PASSWORD_ENV) == PASSWORD
        report, deadline = {}, time.monotonic() + 60
        while not report.get("store_up") and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                report = json.loads((data / "writer" / group / "status.json").read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                pass
        assert report.get("store_up"), report
    finally:
        run.send_signal(signal.SIGTERM)  # what was to be seen is seen: stop the group (its logs are complete)
        out, err = run.communicate(timeout=120)
    assert PASSWORD not in out + err
    for log in (data / "logs").iterdir():
        assert PASSWORD not in log.read_text(errors="replace"), log
