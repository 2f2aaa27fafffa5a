"""Another local user squats a group's shared memory before tickagg starts: a file of theirs under a ring's
name, a symbolic link to a file of root's under the symbol directory's. Real processes (a feed, the writer,
`tickagg run`) refuse them with a message naming the file and its owner, never use them, never follow the
link, and do not crash-loop. The second user is `nobody` (a forked child that drops to uid/gid 65534)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from bench.writer_command import make_ticks
from feed_helpers import wait_until
from shm import segment
from shm.pipeline_records import STAMPED_TICK
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from shm.symbols import directory_name

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making files as a second user needs root")


def as_nobody(action) -> None:
    """Run ``action()`` in a child process whose user and group are nobody's."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            action()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the second user's action failed"


def squat_file(name: str, size: int = 1 << 16) -> str:
    """A file of nobody's, readable and writable by everyone, under segment ``name``."""
    path = segment.path_of(name)

    def make():
        os.umask(0)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
        os.ftruncate(fd, size)
        os.close(fd)

    as_nobody(make)
    assert os.stat(path).st_uid == NOBODY
    return path


def squat_link(name: str, target: str) -> str:
    path = segment.path_of(name)
    as_nobody(lambda: os.symlink(target, path))
    return path


def snapshot(path: str) -> tuple:
    info = os.lstat(path)
    with open(path, "rb") as f:
        return info.st_uid, info.st_mode, info.st_size, info.st_mtime_ns, f.read()


def tickagg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_a_feed_refuses_another_users_ring_and_link(group, tmp_path):
    ring = squat_file(ring_name(group, "binance"))
    precious = tmp_path / "precious"
    precious.write_bytes(b"root's file")
    link = squat_link(directory_name(group), str(precious))
    before = snapshot(ring)
    result = tickagg("feed", "binance", "--group", group, "--url", "ws://127.0.0.1:9", timeout=120)
    assert result.returncode == segment.EXIT_REFUSED, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"refusing to use {ring}" in result.stderr and "nobody (uid 65534)" in result.stderr
    assert "0666" in result.stderr and f"tickagg rings --remove {group}" in result.stderr
    assert snapshot(ring) == before  # never used: not a byte written, not resized
    os.unlink(ring)  # the ring is ours now: the feed gets to the symbol directory, a link to root's file
    result = tickagg("feed", "binance", "--group", group, "--url", "ws://127.0.0.1:9", timeout=120)
    assert result.returncode == segment.EXIT_REFUSED, result.stderr[-2000:]
    assert f"refusing to use {link}" in result.stderr and "never follows links" in result.stderr
    assert precious.read_bytes() == b"root's file" and os.path.islink(link)
    assert os.stat(segment.path_of(ring_name(group, "binance"))).st_mode & 0o7777 == 0o600  # the one it made


def test_the_writer_skips_another_users_ring_says_so_once_and_stores_its_own(group, tmp_path, chdb_url):
    squatted = squat_file(ring_name(group, "out.events"))
    before = snapshot(squatted)
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 12) as ring:
        assert ring.push_batch(make_ticks(0, 1000, time.time_ns())) == 1000
    result = tickagg("write", "--group", group, "--store", chdb_url, "--state-dir", str(tmp_path / "writer"),
                     "--seconds", "6")
    assert result.returncode == 0, result.stderr[-2000:]
    with Ring(ring_name(group, "out.ticks"), MONITOR) as ring:
        assert ring.tail == 1000  # its own ring: stored
    refusals = [line for line in result.stderr.splitlines() if f"refusing to use {squatted}" in line]
    assert len(refusals) == 1, result.stderr[-2000:]  # rescanned every second, said once
    assert "nobody (uid 65534)" in refusals[0]
    assert snapshot(squatted) == before


@pytest.mark.slow
def test_run_keeps_the_others_going_and_shows_the_refusal(group, tmp_path):
    squatted = squat_file(ring_name(group, "binance"))
    before = snapshot(squatted)
    result = tickagg("run", "--simulate", "--exchanges", "binance,coinbase", "--rate", "200", "--no-writer",
                     "--seconds", "12", "--group", group, "--data-dir", str(tmp_path / "data"), "--status-every", "5",
                     timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]  # loud: a feed was down at the end
    assert re.search(rf"feed-binance refused to start: .*refusing to use {re.escape(squatted)}.*nobody", output), output[-3000:]
    assert "tickagg run: feed-binance was not running at the end" in result.stderr
    assert "aggregate" not in result.stderr and "feed-coinbase" not in result.stderr  # the others kept going
    final = next(line for line in result.stdout.splitlines() if line.startswith("final:"))
    received = int(re.search(r"([\d,]+) ticks received", final).group(1).replace(",", ""))
    assert received > 0, final
    log = (tmp_path / "data" / "logs" / "feed-binance.log").read_text()
    assert log.count("refusing to use") <= 2, log[-2000:]  # tried again every 30 s, not in a loop (1, 2, 4 s backoff: 4 in 12 s)
    assert "Traceback" not in log
    assert snapshot(squatted) == before
