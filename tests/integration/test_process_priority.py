"""A process's scheduling priority (``--nice``, tickagg/priority.py): a real `tickagg aggregate` and a real `tickagg
feed` run at the nice value asked; where the kernel refuses a higher priority (a user without CAP_SYS_NICE) it says
so and runs on at the one it had; a value outside -20..19 is refused with the option named, from the flag and from
the config."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from feed_helpers import wait_until

from tickagg.priority import may_set

ALLOWED = may_set(-7)  # root, CAP_SYS_NICE or RLIMIT_NICE
UNPRIVILEGED = """
import logging, os, sys
from tickagg.priority import may_set, set_nice  # imported first: the user below may not read every installed file
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
os.setpriority(os.PRIO_PROCESS, 0, 5)  # anyone may lower their own priority
if os.geteuid() == 0:  # root may raise it again: become a user who may not
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
print(may_set(-3), may_set(7), set_nice(-3), os.getpriority(os.PRIO_PROCESS, 0))
"""


def _nice_of(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


@pytest.mark.skipif(not ALLOWED, reason="a priority above the default needs root, CAP_SYS_NICE or RLIMIT_NICE")
def test_the_aggregator_runs_at_the_nice_value_asked(group):
    process = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "aggregate", "--group", group, "--max-symbols",
                                "64", "--nice", "-7", "--seconds", "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _nice_of(process.pid) == os.getpriority(os.PRIO_PROCESS, 0)  # started at ours
        wait_until(lambda: process.poll() is not None or _nice_of(process.pid) == -7, 300, "the aggregator at nice -7")
        assert process.poll() is None, process.stderr.read()
        _, err = process.communicate(timeout=300)  # its 3 s, then a clean stop
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "running at nice -7" in err


@pytest.mark.skipif(not ALLOWED, reason="a priority above the default needs root, CAP_SYS_NICE or RLIMIT_NICE")
def test_a_feed_runs_at_the_nice_value_asked(group, tmp_path):
    # nothing listens at the URL: the feed sets its priority at start, then keeps reconnecting until stopped
    process = subprocess.Popen([sys.executable, "-m", "tickagg.cli", "feed", "binance", "--group", group, "--symbols",
                                "BTCUSDT", "--url", "ws://127.0.0.1:9/ws", "--state-dir", str(tmp_path), "--nice", "-7"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _nice_of(process.pid) == os.getpriority(os.PRIO_PROCESS, 0)  # started at ours
        wait_until(lambda: process.poll() is not None or _nice_of(process.pid) == -7, 120, "the feed at nice -7")
        assert process.poll() is None, process.stderr.read()
        process.terminate()
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err  # SIGTERM: a clean stop
    assert "running at nice -7" in err


def test_a_refused_priority_is_logged_and_the_process_runs_on():
    done = subprocess.run([sys.executable, "-c", UNPRIVILEGED], capture_output=True, text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "5", "5"]  # foreseen; still at the nice value it had
    assert "could not run at nice -3" in done.stderr and "CAP_SYS_NICE" in done.stderr


def test_leaving_it_alone_changes_nothing():
    from tickagg.priority import set_nice

    before = os.getpriority(os.PRIO_PROCESS, 0)
    assert set_nice(None) == before
    assert set_nice(before) == before
    with pytest.raises(ValueError, match="outside -20..19"):
        set_nice(20)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before


@pytest.mark.parametrize("where", ["flag", "config"])
@pytest.mark.parametrize("command", ["aggregate", "feed"])
def test_a_nice_value_out_of_range_is_refused_with_its_name(group, command, where, tmp_path):
    env = dict(os.environ)
    args = ["aggregate", "--group", group, "--seconds", "1"] if command == "aggregate" else [
        "feed", "binance", "--group", group, "--symbols", "BTCUSDT", "--url", "ws://127.0.0.1:9/ws", "--state-dir",
        str(tmp_path)]
    section = "aggregator" if command == "aggregate" else "feeds"
    if where == "flag":
        args += ["--nice", "-21"]
    else:
        env[f"TICKAGG__{section.upper()}__NICE"] = "20"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 2, done.stderr
    wanted = "--nice: '-21' must be at least -20" if where == "flag" else f"{section}.nice: '20' must be at most 19"
    assert wanted in done.stderr
    assert time.monotonic() - started < 60  # refused before the kernels load
