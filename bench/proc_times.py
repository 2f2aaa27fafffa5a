"""A process's CPU time from outside, as every bench figure of a process is measured: /proc.

``schedstat_seconds``: the scheduler's totals over all the process's threads
(/proc/PID/task/TID/schedstat, ns): time on a CPU and time runnable but waiting
for one. ``cpu_seconds`` is the first, or, where the kernel keeps no schedstat,
user + system from /proc/PID/stat, whose clock ticks (10 ms) are too coarse for
a per-frame figure of a few seconds' window.
"""
from __future__ import annotations

import os

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")  # /proc's clock tick


def schedstat_seconds(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting) of all threads of ``pid`` so far; None if the kernel keeps
    no schedstat. Raises ``ProcessLookupError`` if ``pid`` is gone (a thread that ended meanwhile is left out)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    on_cpu = waiting = 0
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/schedstat", "rb") as schedstat:
                fields = schedstat.read().split()
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{thread}"):
                continue  # the thread ended meanwhile
            return None  # no schedstat in this kernel
        on_cpu += int(fields[0])
        waiting += int(fields[1])
    return on_cpu / 1e9, waiting / 1e9


def stat_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (fields 14 and 15 of /proc/PID/stat, in clock ticks)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``: its threads' run time from schedstat (ns), or, where the kernel has none, user +
    system from /proc/PID/stat (clock ticks; threads that ended count there, not in schedstat)."""
    times = schedstat_seconds(pid)
    return times[0] if times is not None else stat_cpu_seconds(pid)
