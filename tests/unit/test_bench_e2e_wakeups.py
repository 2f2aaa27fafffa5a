"""bench e2e's wakeup figures (bench/e2e_wakeups.py): real processes that sleep in short naps are counted waking
about as often as they nap, one that spins is not, nice values are read as set, and the arithmetic over snapshots
(bench/e2e_contention.py ``Snapshot``, which reads them with the run times)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.e2e_contention import Snapshot
from bench.e2e_wakeups import voluntary_switches, wakeup_figures, woke

NAPS = "import os, time\nos.nice({nice})\nend = time.monotonic() + 6\nwhile time.monotonic() < end: time.sleep(0.01)\n"
SPIN = "import time\nend = time.monotonic() + 6\nwhile time.monotonic() < end: pass\n"


def test_a_napping_process_wakes_once_a_nap_a_spinning_one_hardly_and_their_nice_values_are_read():
    nappers = subprocess.Popen([sys.executable, "-c", NAPS.format(nice=7)])
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(1.0)  # started, reniced
        roles = {nappers.pid: "feeds", spinner.pid: "simulator"}
        before, start = Snapshot(roles, None), time.monotonic()
        time.sleep(2.0)
        after, seconds = Snapshot(roles, None), time.monotonic() - start
    finally:
        for child in (nappers, spinner):
            child.kill()
            child.wait()
    figures = wakeup_figures(before, after, seconds)
    assert 50 <= figures["wakeups_per_s"]["feeds"] <= 110, figures  # 10 ms naps: at most 100 a second
    assert figures["wakeups_per_s"]["simulator"] < 10, figures  # never sleeps (preemptions are not voluntary)
    assert figures["cpu_us_per_wakeup"]["feeds"] > 0, figures
    assert figures["nice"] == {"feeds": [7], "simulator": [0]}


def test_a_gone_process_raises_and_a_snapshot_leaves_it_out():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcessLookupError):
        voluntary_switches(child.pid)
    with pytest.raises(ProcessLookupError):
        os.getpriority(os.PRIO_PROCESS, child.pid)  # woke's nice
    with pytest.raises(ProcessLookupError):
        woke(child.pid)
    assert Snapshot({child.pid: "feeds", os.getpid(): "writer"}, None).woke.keys() == {os.getpid()}


def test_the_figures_sum_a_role_s_processes_and_leave_out_those_in_one_snapshot_only():
    before, after = Snapshot.__new__(Snapshot), Snapshot.__new__(Snapshot)
    before.processes = {1: ("feeds", (1.0, 0.0)), 2: ("feeds", (2.0, 0.0)), 3: ("writer", (0.0, 0.0))}
    before.woke = {1: (100, 0), 2: (50, 0), 3: (10, 0)}
    after.processes = {1: ("feeds", (1.004, 0.0)), 2: ("feeds", (2.004, 0.0)), 4: ("writer", (5.0, 0.0))}
    after.woke = {1: (300, 0), 2: (250, 0), 4: (99, -3)}
    figures = wakeup_figures(before, after, 2.0)
    assert figures["wakeups_per_s"] == {"feeds": 200.0}  # (200 + 200) / 2 s
    assert figures["cpu_us_per_wakeup"] == {"feeds": pytest.approx(20.0)}  # 8 ms over 400 wakeups
    assert figures["nice"] == {"feeds": [0], "writer": [-3]}
