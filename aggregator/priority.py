"""The aggregator's scheduling priority (``--nice``, ``aggregator.nice``): ahead of the feeds on a busy machine.

On a machine whose CPUs are nearly all busy, a process woken by a tick first
waits in the run queue. Pinning (aggregator/main.py ``pin_to_cpu``) chooses the
CPU, not the turn on it. `tickagg bench e2e` at 80k ticks/s on the 2-core
machine (ClickHouse server; the bench runs the simulator at nice -5), 5 runs
each way: the aggregator runnable but waiting 18-23% of the window at nice 0,
6.2-6.8% at nice -10, for ~2 points more of its CPU (13.3-14.6% -> 15.5-16.6%:
woken sooner, fewer ticks per wakeup). Tick-to-signal p99 did not measurably
change (6.9-9.0 ms at 0, 5.6-9.3 at -10): its tail is the feeds' (send ->
receive p99 3.8-7.3 ms in those runs), so this is a setting for the
aggregator's own stages, not the end-to-end tail.

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
