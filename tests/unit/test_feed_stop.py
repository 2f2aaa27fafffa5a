"""The feed's stop signal (feeds/stop.py): it always stops the feed, and ends only a wait for the network."""
from __future__ import annotations

import signal
import socket

import pytest

from feeds.stop import WAIT, Stopped, stop_handler
from feeds.wsconn import Connection
from stop_signal import read_until_sigterm


def test_the_handler_stops_and_raises_only_inside_a_wait():
    stops = []
    handler = stop_handler(lambda: stops.append(1))
    handler(signal.SIGTERM, None)  # parsing, writing the ring...: not cut short
    assert stops == [1] and not WAIT.waiting
    WAIT.waiting = True
    with pytest.raises(Stopped):
        handler(signal.SIGTERM, None)
    assert stops == [1, 1] and not WAIT.waiting  # raised once: a second signal does not cut the cleanup


def test_a_sigterm_ends_a_blocking_read_of_a_quiet_socket(monkeypatch):
    """A plain socket waits in the kernel (SO_RCVTIMEO); Python would retry the interrupted recv for the whole
    timeout: the handler's Stopped ends it instead, and the read leaves the wait flag down."""
    import websocket

    ours, theirs = socket.socketpair()

    class FakeWebSocket:
        sock = ours

    monkeypatch.setattr(websocket, "create_connection", lambda url, **options: FakeWebSocket())
    connection = Connection("ws://test")
    connection.settimeout(30.0)
    try:
        assert read_until_sigterm(connection) == [1]
    finally:
        ours.close()
        theirs.close()
