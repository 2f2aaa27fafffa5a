"""A stop signal ends a feed's waits for the network at once (feeds/stop.py): a quiet read on a TLS connection
(real venues are wss://; Python's ssl read waits out its whole timeout after an interrupted poll unless the
handler raises), and a connect to a venue that does not answer (up to the 10 s connect timeout)."""
from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import threading
import sys
import time

import websocket

from feeds.wsconn import Connection
from feed_helpers import metrics
from shm import segment
from stop_signal import read_until_sigterm
from stores import missing


def _tls_pair(tmp_path) -> tuple[ssl.SSLSocket, ssl.SSLSocket]:
    """Both ends of a socket pair after a TLS handshake (a self-signed certificate made here)."""
    if shutil.which("openssl") is None:
        missing("openssl is not installed")
    cert, key = str(tmp_path / "s.crt"), str(tmp_path / "s.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    ours, theirs = socket.socketpair()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=cert)
    accepted = {}
    accepting = threading.Thread(target=lambda: accepted.setdefault("sock", server_context.wrap_socket(theirs, server_side=True)))
    accepting.start()
    client = client_context.wrap_socket(ours, server_hostname="localhost")
    accepting.join(10)
    return client, accepted["sock"]


def test_a_sigterm_ends_a_quiet_tls_read_at_once(tmp_path, monkeypatch):
    client, server = _tls_pair(tmp_path)

    class FakeWebSocket:
        sock = client

    monkeypatch.setattr(websocket, "create_connection", lambda url, **options: FakeWebSocket())
    connection = Connection("wss://test")
    connection.settimeout(30.0)  # a TLS socket keeps Python's timeout
    started = time.monotonic()
    try:
        assert read_until_sigterm(connection, 0.3) == [1]
    finally:
        client.close()
        server.close()
    assert time.monotonic() - started < 10  # not the read's 30 s


def test_a_sigterm_ends_a_connect_to_a_venue_that_does_not_answer(group):
    """The venue's port takes the TCP connection (the kernel's backlog) but never answers the WebSocket upgrade."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"ws://127.0.0.1:{silent.getsockname()[1]}"
    feed = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "feed", "okx", "--url", url, "--group", group,
                             "--symbols", "BTC-USDT"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not segment.exists(f"tickagg.{group}.okx"):  # the feed made its rings: it is connecting now
            assert feed.poll() is None and time.monotonic() < deadline, feed.stderr.read() if feed.poll() is not None else "no ring"
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the upgrade's wait
        assert metrics(group, "okx")["connects"] == 0
        started = time.monotonic()
        feed.send_signal(signal.SIGTERM)
        feed.wait(30)
        took = time.monotonic() - started
    finally:
        if feed.poll() is None:
            feed.kill()
            feed.wait()
        feed.stderr.close()
        silent.close()
        for name in segment.names(f"tickagg.{group}."):
            segment.remove(name)
    assert feed.returncode == 0
    assert took < 3.0, took  # not the rest of the 10 s connect timeout
