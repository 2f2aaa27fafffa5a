"""bench e2e: how often each role's processes woke in the loaded window, the CPU each wakeup cost, and the nice
values they ran at, measured from outside (/proc), as the CPU figures are.

Each wakeup costs the kernel's switch in and out before any work (tens of µs on
a busy VM: perf put 41-51% of a feed's samples in ``finish_task_switch``), so
the count and the cost per wakeup show where a role's CPU goes. The ten feeds
at 80k ticks/s on the 2-core VM woke ~10,500 times a second in all, 29-45 µs
of CPU each; with the read batching wait off, 4,400 times at 57-127 µs each,
for the same CPU (their reads then follow the simulator's sends, larger and
rarer on a saturated machine, and a read costs more the more it carries): fewer
wakeups alone did not make them cheaper there. ``wakeups_per_s``: voluntary
context switches a second (a thread that blocked or slept, then ran again),
summed over the role's processes and threads; ``cpu_us_per_wakeup``: the role's
CPU time over them; ``nice``: the values the role's processes ran at (the
priorities the figures were measured under: the simulator's, the aggregator's
``--nice``).
"""
from __future__ import annotations

import os

def voluntary_switches(pid: int) -> int:
    """Voluntary context switches of all threads of ``pid`` so far (a thread that ended meanwhile is left out).
    Raises ``ProcessLookupError`` if ``pid`` is gone."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    total = 0
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
                        break
        except FileNotFoundError:
            continue
    return total


def woke(pid: int) -> tuple[int, int]:
    """(voluntary switches so far, nice) of ``pid``, for a snapshot (bench/e2e_contention.py ``Snapshot``). Raises
    ``ProcessLookupError`` if it is gone."""
    return voluntary_switches(pid), os.getpriority(os.PRIO_PROCESS, pid)


def wakeup_figures(before, after, seconds: float) -> dict:
    """The three figures (see the module) between two ``Snapshot``s ``seconds`` apart, per role, the CPU from their
    run times; a process in only one of them is left out (its nice still shown)."""
    switches: dict[str, int] = {}
    cpu: dict[str, float] = {}
    nice: dict[str, set[int]] = {}
    for pid, (woken, value) in after.woke.items():
        role, (on_cpu, _) = after.processes[pid]
        nice.setdefault(role, set()).add(value)
        if pid in before.woke:  # its processes' keys hold those of woke
            switches[role] = switches.get(role, 0) + woken - before.woke[pid][0]
            cpu[role] = cpu.get(role, 0.0) + on_cpu - before.processes[pid][1][0]
    return {
        "wakeups_per_s": {role: round(count / seconds, 1) for role, count in sorted(switches.items())},
        "cpu_us_per_wakeup": {role: round(1e6 * cpu[role] / count, 1) if count > 0 else None
                              for role, count in sorted(switches.items())},
        "nice": {role: sorted(values) for role, values in sorted(nice.items())},
    }
