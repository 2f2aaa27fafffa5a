"""A process's CPU time from outside (bench/proc_times.py, bench feed's and bench e2e's): schedstat's ns agree with /proc/PID/stat's clock ticks."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.proc_times import cpu_seconds, stat_cpu_seconds


def test_a_busy_child_counts_its_cpu_time_in_ns_as_proc_stat_does_in_ticks():
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nend = time.process_time() + 0.6\n"
                              "while time.process_time() < end: pass\nprint('spun', flush=True)\nsys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "spun"  # the loop is over: it waits on stdin, its CPU time stands still
        time.sleep(0.1)
        precise, ticks = cpu_seconds(child.pid), stat_cpu_seconds(child.pid)
        assert 0.6 <= precise < 3.0
        assert precise == pytest.approx(ticks, abs=0.05)  # ticks: 10 ms steps, truncated
        assert cpu_seconds(child.pid) == pytest.approx(precise, abs=0.005)  # standing still (the print's last steps)
    finally:
        child.stdin.close()
        child.wait(10)


def test_a_process_that_is_gone_is_said_to_be_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcessLookupError):
        cpu_seconds(child.pid)


def test_a_thread_s_cpu_time_counts_while_it_lives():
    import threading

    spun, done = threading.Event(), threading.Event()

    def spin() -> None:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass
        spun.set()
        done.wait(30)  # alive, idle: its task (and schedstat) is still there

    before = cpu_seconds(os.getpid())
    worker = threading.Thread(target=spin)
    worker.start()
    try:
        assert spun.wait(30)
        assert cpu_seconds(os.getpid()) >= before + 0.3
    finally:
        done.set()
        worker.join()
