"""bench e2e's contention figures (bench/e2e_contention.py): run-queue waits of real processes sharing one CPU,
the machine's busy share, and the arithmetic over snapshots."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.e2e_contention import Snapshot, contention, machine_times, run_times

SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


def _spinners(count: int, seconds: float, cpu: int) -> list[subprocess.Popen]:
    children = [subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=seconds)]) for _ in range(count)]
    for child in children:
        os.sched_setaffinity(child.pid, {cpu})
    return children


def test_two_processes_on_one_cpu_each_wait_for_it_about_half_the_time():
    cpu = sorted(os.sched_getaffinity(0))[0]
    children = _spinners(2, 4.0, cpu)
    try:
        time.sleep(0.5)  # both started and pinned
        roles = {child.pid: "feeds" for child in children}
        before, start = Snapshot(roles, children[0].pid), time.monotonic()
        time.sleep(1.5)
        after, seconds = Snapshot(roles, children[0].pid), time.monotonic() - start
    finally:
        for child in children:
            child.kill()
            child.wait()
    crowd = contention(before, after, seconds)
    # each ran about half the time and waited the other half (other load on the machine only adds to the wait)
    assert 30 < crowd["waiting_for_cpu_pct"]["feeds"] <= 105, crowd
    assert 10 < crowd["store_server_cpu_pct"] < 75, crowd
    assert 30 < crowd["store_server_waiting_for_cpu_pct"] <= 105, crowd  # the first child stands for the server here
    assert crowd["machine_busy_pct"] >= 100 / os.cpu_count() * 0.8, crowd  # one CPU of os.cpu_count() was full


def test_a_process_alone_on_a_quiet_cpu_waits_little_and_a_gone_one_is_none():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert run_times(child.pid) is not None
    finally:
        child.kill()
        child.wait()
    assert run_times(child.pid) is None
    on_cpu, waiting = run_times(os.getpid())
    assert on_cpu > 0 and waiting >= 0


def test_the_machine_busy_time_grows_within_its_total():
    busy0, total0 = machine_times()
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        pass
    busy1, total1 = machine_times()
    assert 0 < busy1 - busy0 <= total1 - total0
    assert busy1 <= total1


def test_a_role_s_wait_is_the_mean_over_its_processes_and_processes_in_one_snapshot_only_are_left_out():
    before, after = _bare(), _bare()
    before.machine, after.machine = (10.0, 40.0), (13.0, 44.0)
    before.processes = {1: ("feeds", (0.0, 1.0)), 2: ("feeds", (0.0, 2.0)), 3: ("writer", (0.0, 0.0))}
    after.processes = {1: ("feeds", (1.0, 1.5)), 2: ("feeds", (1.0, 2.3)), 4: ("writer", (5.0, 5.0))}
    before.server, after.server = None, (1.0, 0.0)
    crowd = contention(before, after, 2.0)
    assert crowd["machine_busy_pct"] == pytest.approx(75.0)
    assert crowd["waiting_for_cpu_pct"] == {"feeds": pytest.approx(20.0)}  # (0.5 + 0.3) / 2 processes / 2 s
    assert crowd["store_server_cpu_pct"] is None and crowd["store_server_waiting_for_cpu_pct"] is None  # not in both
    before.server, after.server = (0.5, 0.25), (1.0, 1.75)  # (on a CPU, waiting for one) so far
    crowd = contention(before, after, 2.0)
    assert crowd["store_server_cpu_pct"] == pytest.approx(25.0)  # (1.0 - 0.5) / 2 s
    assert crowd["store_server_waiting_for_cpu_pct"] == pytest.approx(75.0)  # (1.75 - 0.25) / 2 s


def _bare() -> Snapshot:
    return Snapshot.__new__(Snapshot)
