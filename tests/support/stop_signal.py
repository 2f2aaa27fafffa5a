"""A SIGTERM to this process while a feed's connection reads (feeds/stop.py's handler installed for it)."""
from __future__ import annotations

import os
import signal
import threading

import pytest

from feeds.stop import WAIT, Stopped, stop_handler


def read_until_sigterm(connection, after_s: float = 0.2) -> list:
    """``connection.read`` with a SIGTERM ``after_s`` into its wait: asserts the read ends with ``Stopped`` and
    leaves the wait flag down; returns the stop calls the handler made."""
    stops: list = []
    previous = signal.signal(signal.SIGTERM, stop_handler(lambda: stops.append(1)))
    timer = threading.Timer(after_s, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        with pytest.raises(Stopped):
            connection.read(None)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert not WAIT.waiting
    return stops
