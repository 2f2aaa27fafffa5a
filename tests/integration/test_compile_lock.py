"""The kernel cache's compile lock (shm/compile_lock.py): held by one process at a time, freed when it dies."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys

import pytest

from shm.compile_lock import LOCK_NAME, compile_lock

HOLDER = ("import sys\nfrom shm.compile_lock import compile_lock\n"
          "with compile_lock(sys.argv[1]):\n    print('held', flush=True)\n    sys.stdin.read()\n")


def try_lock(directory) -> bool:
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_second_compiler_waits_until_the_first_is_done_or_dead(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not try_lock(tmp_path), "the lock let a second process in while the first held it"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        assert try_lock(tmp_path), "a killed holder's lock was not released"
    finally:
        holder.kill()
        holder.wait()
    assert oct(os.stat(tmp_path / LOCK_NAME).st_mode & 0o777) == "0o600"


def test_the_lock_file_is_never_followed_through_a_link(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(target, tmp_path / LOCK_NAME)
    with pytest.raises(OSError):
        with compile_lock(str(tmp_path)):
            pass
