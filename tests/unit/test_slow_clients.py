"""A client that connects and never finishes its request does not hold a server thread forever: the dashboard's
and the metrics' HTTP servers close such a connection after their request timeout (a few thousand idle
connections from another local user would otherwise each keep a thread, for ever)."""
from __future__ import annotations

import socket
import threading

import pytest

from tickagg.dashboard.live import LiveHistory
from tickagg.dashboard.server import REQUEST_TIMEOUT_S, Dashboard, serve
from tickagg import metrics_exporter
from tickagg.metrics_exporter import GroupCollector, start_server


def _closed_by_server(port: int) -> bool:
    """Send half a request and wait (far longer than the test's server timeout) for the server to hang up."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1")  # never finished
        conn.settimeout(30)
        try:
            return conn.recv(1024) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


@pytest.fixture
def dashboard_port(tmp_path):
    server = serve(Dashboard(None, LiveHistory("slowclients", str(tmp_path)), "slowclients"), "127.0.0.1", 0,
                   request_timeout_s=0.5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_dashboard_hangs_up_on_an_unfinished_request(dashboard_port):
    assert _closed_by_server(dashboard_port)


def test_the_metrics_server_hangs_up_on_an_unfinished_request():
    server = start_server(GroupCollector("slowclients", snapshot=dict), ("127.0.0.1", 0), request_timeout_s=0.5)
    try:
        assert _closed_by_server(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_request_timeouts_are_finite():
    assert 0 < REQUEST_TIMEOUT_S <= 60 and 0 < metrics_exporter.REQUEST_TIMEOUT_S <= 60
