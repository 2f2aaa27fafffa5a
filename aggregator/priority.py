"""The aggregator's scheduling priority (``--nice``, ``aggregator.nice``): ahead of the feeds on a busy machine.

On a machine whose CPUs are nearly all busy, a process woken by a tick first
waits in the run queue. Pinning (aggregator/main.py ``pin_to_cpu``) chooses the
CPU, not the turn on it: `tickagg bench e2e` at 80k ticks/s on the 2-core
machine (ClickHouse server, the simulator at nice -5, 3 interleaved pairs) had
the aggregator runnable but waiting 18-23% of the window at nice 0 and 6.2-6.7%
at nice -10; tick-to-signal p99 6.9 / 7.0 / 9.0 ms against 5.6 / 8.7 / 6.2 (its
tail is mostly the feeds' own wait: send->receive p99 3.8-6.7 ms), the
aggregator's CPU 13.3-14.6% against 15.7-16.6% of a core (woken sooner, fewer
ticks per wakeup).

A value below the current one needs root or CAP_SYS_NICE (or RLIMIT_NICE):
refused, the aggregator logs it once and runs at its present priority. Under
systemd the unit's ``Nice=`` sets it before the service's user is taken.
"""
from __future__ import annotations

import logging
import os

LOWEST, HIGHEST = -20, 19  # nice values: -20 runs first

log = logging.getLogger("tickagg.aggregate")


def set_nice(nice: int | None) -> int:
    """Run this process at ``nice`` (None: leave it); returns the nice value it runs at."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice is None or nice == current:
        return current
    if not LOWEST <= nice <= HIGHEST:
        raise ValueError(f"nice {nice} is outside {LOWEST}..{HIGHEST}")
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        log.warning("could not run at nice %d (below the current %d needs root or CAP_SYS_NICE; under systemd "
                    "set Nice= in the unit); running at nice %d", nice, current, current)
        return current
    log.info("running at nice %d", nice)
    return nice
