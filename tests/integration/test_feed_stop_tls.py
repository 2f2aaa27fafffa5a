"""A stop signal ends a quiet feed's read on a TLS connection too (real venues are wss://): Python's ssl read
waits out its whole timeout after an interrupted poll unless the handler raises (feeds/stop.py)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
import websocket

from feeds.stop import WAIT, Stopped, stop_handler
from feeds.wsconn import Connection
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
    stops = []
    previous = signal.signal(signal.SIGTERM, stop_handler(lambda: stops.append(1)))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(Stopped):
            connection.read(None)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
        client.close()
        server.close()
    assert stops == [1] and not WAIT.waiting
    assert time.monotonic() - started < 10  # not the read's 30 s
