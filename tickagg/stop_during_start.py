"""A stop signal that comes while a process starts is a clean stop, not a death by signal.

A feed or the aggregator installs its own SIGTERM/SIGINT handlers only once it is made (rings attached, the
aggregator's kernels warmed: seconds on a loaded machine). Before that, the default action would kill it
halfway through making its rings, and `tickagg run`, systemd or a test that stops it early would see it die
of the signal. ``note()`` is called first thing: a signal before the process's own handlers is recorded in
the list it returns, and the process stops cleanly (exit 0) as soon as it can.
"""
from __future__ import annotations

import signal


def note() -> list:
    """Record SIGTERM/SIGINT from now until the caller installs its own handlers; the list is non-empty once one
    came."""
    asked: list = []

    def record(*_signal) -> None:
        asked.append(True)

    signal.signal(signal.SIGTERM, record)
    signal.signal(signal.SIGINT, record)
    return asked
