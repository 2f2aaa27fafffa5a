"""A process's scheduling priority (``--nice``: ``feeds.nice``, ``aggregator.nice``): the latency stages ahead of
the rest of a busy machine.

On a machine whose CPUs are nearly all busy, a process woken by a frame or a nap's end first waits in the run
queue; its nice value decides its turn. Pinning (aggregator/main.py ``pin_to_cpu``) chooses the CPU, not the turn
on it. `tickagg bench e2e` at 80k ticks/s on the 2-core machine (ClickHouse server; the bench runs the simulator at
nice -5; ``_detail`` has each stage's p99 and each role's wait for a CPU):

- the aggregator alone at -10 (5 runs against 5 at 0): runnable but waiting 6.2-6.8% of the window against
  18-23%, for ~2 points more of its CPU; tick-to-signal p99 did not measurably change (5.6-9.3 ms against
  6.9-9.0), as the feeds then wait longer (send -> receive p99 6.4 ms in one run with the stages split);
- the feeds and the aggregator at -10 (the systemd units' ``Nice=``; bench e2e's default ``--group-nice``), 4 runs
  interleaved with 4 at 0 (``--group-nice 0``), plus 4 more at -10: tick-to-signal p99 3.4-5.5 ms (median 4.0, 7
  of the 8 under 5) against 6.0-16.8 (median 8.0); send -> receive p99 2.1-3.0 against 2.9-8.6, receive -> pop 1.8-2.2 against
  4.4-12.3; the aggregator waiting for a CPU 7.1-7.7% of the window against 17-28, the feeds 3.2-4.7 against
  8.0-9.7; the group's CPU unchanged (63.4-64.8% against 55.5-66.4), as its PSS and idle CPU.

A value below the current one needs root or CAP_SYS_NICE (or RLIMIT_NICE): refused, the process logs it once and
runs on at its present priority. Under systemd the unit's ``Nice=`` sets it before the service's user is taken.
"""
from __future__ import annotations

import logging
import os
import resource

LOWEST, HIGHEST = -20, 19  # nice values: -20 runs first
CAP_SYS_NICE = 23  # its bit in /proc/PID/status CapEff
UNITS_NICE = -10  # Nice= of systemd/tickagg-feed@.service and tickagg-aggregate.service; bench e2e's --group-nice

log = logging.getLogger("tickagg.priority")


def may_set(nice: int) -> bool:
    """Whether the kernel lets this process (and what it starts as the same user) run at ``nice``: at or above
    the current value anyone may; below needs CAP_SYS_NICE or a high enough RLIMIT_NICE (ceiling 20 - limit)."""
    if nice >= os.getpriority(os.PRIO_PROCESS, 0):
        return True
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:") and int(line.split()[1], 16) >> CAP_SYS_NICE & 1:
                return True
    soft, _ = resource.getrlimit(resource.RLIMIT_NICE)
    return soft == resource.RLIM_INFINITY or nice >= 20 - soft


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
