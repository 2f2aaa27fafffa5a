"""The processes of a running group, by role, measured from outside: CPU time and PSS from /proc.

``Group(pid)`` is the ``tickagg run`` process (the supervisor) and its
descendants; each is given a role from its command line (``ROLES``). CPU time
is utime + stime from ``/proc/PID/stat``; PSS is ``Pss`` from
``/proc/PID/smaps_rollup`` (shared pages, e.g. ring mappings and libraries,
split between the processes that map them, so the roles add up).
"""
from __future__ import annotations

import os

from bench.proc_times import TICK_S

ROLES = ("feeds", "aggregator", "writer", "supervisor", "simulator")


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of ``pid``, or None if it is gone."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) * TICK_S


def role_of(cmdline: list[str]) -> str | None:
    """The group role a command line plays (None: not one of ours, e.g. a shell)."""
    if "simulator.simulate_command" in cmdline:
        return "simulator"
    if "tickagg.cli" in cmdline:
        sub = cmdline[cmdline.index("tickagg.cli") + 1:][:1]
        return {"feed": "feeds", "aggregate": "aggregator", "write": "writer"}.get(sub[0] if sub else "")
    if "tickagg" in cmdline and "run" in cmdline:
        return "supervisor"
    return None


def pss_mb(pid: int) -> float:
    text = _read(f"/proc/{pid}/smaps_rollup") or ""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


class Group:
    def __init__(self, pid: int):
        self.pid = pid

    def processes(self) -> dict[int, str]:
        """pid -> role of the supervisor and every descendant with a role."""
        parents = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = _stat(int(name))
                if stat is not None:
                    parents[int(name)] = stat[0]
        members, frontier = {self.pid}, [self.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in members]
            members.update(children)
            frontier.extend(children)
        roles = {}
        for pid in members:
            cmdline = (_read(f"/proc/{pid}/cmdline") or "").split("\0")
            role = "supervisor" if pid == self.pid else role_of(cmdline)
            if role is not None:
                roles[pid] = role
        return roles

    def cpu(self, roles: dict[int, str] | None = None) -> dict[int, tuple[str, float]]:
        """pid -> (role, CPU seconds so far) of ``roles`` (a ``processes()`` taken just before: scanning /proc
        is slow, so the caller scans first, then starts its clock, then reads the times)."""
        result = {}
        for pid, role in (roles if roles is not None else self.processes()).items():
            stat = _stat(pid)
            if stat is not None:
                result[pid] = (role, stat[1])
        return result

    def pss(self) -> dict[str, float]:
        """role -> MB of PSS now."""
        totals = dict.fromkeys(ROLES, 0.0)
        for pid, role in self.processes().items():
            totals[role] += pss_mb(pid)
        return totals


def cpu_pct(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], seconds: float) -> dict[str, float]:
    """role -> % of one core between two ``Group.cpu`` snapshots (a process started in between counts from 0;
    one gone by ``after`` is not counted: the caller reports restarts)."""
    totals = dict.fromkeys(ROLES, 0.0)
    for pid, (role, used) in after.items():
        start = before.get(pid, (role, 0.0))[1]
        totals[role] += used - start
    return {role: 100.0 * used / seconds for role, used in totals.items()}
