"""A stop signal that ends the feed's wait for the network at once.

An idle feed waits up to several seconds for its next frame or housekeeping (feeds/loop.py
``Feed.idle_wait_s``), and a connect to a venue that does not answer up to its timeout (10 s).
SIGTERM/SIGINT call ``Feed.stop`` and, when the main thread is inside one of those waits (a socket read
in feeds/wsconn.py, the epoll wait in feeds/connections.py, the connect in ``Feed._open_session``:
between ``WAIT.waiting = True`` and ``False`` around that call), raise ``Stopped`` from it, so the wait
ends now instead of at its timeout (Python retries an interrupted wait for its whole remaining time).
Only that call is cut short: a frame being parsed or written to the ring never is, and what the cut read
would have brought is what the closing connection drops anyway.
"""
from __future__ import annotations

from typing import Callable


class Stopped(Exception):
    """A stop signal ended the feed's wait for the network."""


class Wait:
    """Whether the process's main thread is in a wait a stop signal may end (one per process: signals
    reach the main thread)."""

    __slots__ = ("waiting",)

    def __init__(self):
        self.waiting = False


WAIT = Wait()


def stop_handler(stop: Callable[[], None]) -> Callable:
    """A signal handler: ``stop()``, then end the wait under way, if any."""

    def handler(*_signal) -> None:
        stop()
        if WAIT.waiting:
            WAIT.waiting = False
            raise Stopped()

    return handler
