"""How crowded the CPUs were during a bench window, measured from outside: the figures that explain its latencies.

On a machine whose CPUs are nearly all busy, a process woken by a frame or a
doorbell first waits in the run queue for a CPU; at the seed's operating point
on two cores that wait, not the group's own work, makes the tick latencies'
tails. These figures show it:

- ``machine_busy_pct``: the share of all CPUs' time not idle (``/proc/stat``:
  everything but idle and iowait), every process on the machine included;
- ``store_server_cpu_pct``: the private clickhouse-server's CPU (% of one
  core; None with chDB, whose engine runs inside the writer and counts there);
- ``store_server_waiting_for_cpu_pct``: the share of the window its threads
  spent runnable but waiting for a CPU, all threads summed (% of one core; None
  with chDB): an insert the writer waits for is slow when this is high (at
  80k ticks/s on the 2-core VM it ran ~54% of a core and waited ~180%);
- ``waiting_for_cpu_pct``: per role, the share of the window a process of that
  role spent runnable but not running (``/proc/PID/task/*/schedstat``, the
  run-queue delay of all its threads; the mean over the role's processes, so
  a multi-threaded process may exceed 100).
"""
from __future__ import annotations

from bench.e2e_wakeups import woke
from bench.proc_times import TICK_S, schedstat_seconds


def machine_times() -> tuple[float, float]:
    """(busy, total) CPU seconds of all CPUs since boot, from /proc/stat's first line."""
    with open("/proc/stat", "rb") as f:
        fields = [int(value) for value in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
    return (total - idle) * TICK_S, total * TICK_S


def run_times(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting) of all threads of ``pid`` so far (bench/proc_times.py); None
    if it is gone or the kernel keeps no schedstat."""
    try:
        return schedstat_seconds(pid)
    except ProcessLookupError:
        return None


class Snapshot:
    """The machine's CPU times, each role's processes' run times (and their wakeups and nice values: ``woke``,
    bench/e2e_wakeups.py), and the store server's, at one moment."""

    def __init__(self, roles: dict[int, str], server_pid: int | None):
        self.machine = machine_times()
        self.processes = {pid: (role, times) for pid, role in roles.items() if (times := run_times(pid)) is not None}
        self.woke = {}
        for pid in self.processes:
            try:
                self.woke[pid] = woke(pid)
            except ProcessLookupError:
                continue
        self.server = run_times(server_pid) if server_pid else None


def contention(before: Snapshot, after: Snapshot, seconds: float) -> dict:
    """The figures (see the module) between two snapshots ``seconds`` apart; a process in only one of them
    is left out."""
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    waits: dict[str, list[float]] = {}
    for pid, (role, (_, waiting)) in after.processes.items():
        if pid in before.processes:
            waits.setdefault(role, []).append(waiting - before.processes[pid][1][1])
    server = server_waiting = None
    if before.server is not None and after.server is not None:
        server = round(100.0 * (after.server[0] - before.server[0]) / seconds, 2)
        server_waiting = round(100.0 * (after.server[1] - before.server[1]) / seconds, 2)
    return {
        "machine_busy_pct": round(100.0 * busy / total, 2) if total > 0 else None,
        "store_server_cpu_pct": server,
        "store_server_waiting_for_cpu_pct": server_waiting,
        "waiting_for_cpu_pct": {role: round(100.0 * sum(values) / len(values) / seconds, 2)
                                for role, values in sorted(waits.items())},
    }
