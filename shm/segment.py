"""Named POSIX shared-memory segments (files in /dev/shm) and the locks on them.

We open ``/dev/shm/<name>`` ourselves rather than use
``multiprocessing.shared_memory``: on Python 3.11 that class registers every
segment with the resource_tracker, which unlinks it when the *attaching*
process exits — a ring must outlive its processes. Here nothing is removed
behind anybody's back; removal is explicit (``remove``).

A segment becomes visible only fully initialised: it is written under a
private temporary name and then hard-linked to its real name, which fails if
the name exists (so concurrent creators agree on one segment).

Role locks are Linux open-file-description (OFD) locks on one byte of the
segment: the kernel releases them when the holder dies, SIGKILL included, so
"is the consumer alive?" never depends on pids that may be reused.
"""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import re
import struct
from typing import Callable

SHM_DIR = os.environ.get("TICKAGG_SHM_DIR", "/dev/shm")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_FLOCK = "hhqqi4x"  # struct flock: l_type, l_whence, l_start, l_len, l_pid (+pad)


class SegmentError(RuntimeError):
    """A shared-memory segment that cannot be created, opened or used."""


def path_of(name: str) -> str:
    if not _NAME.match(name) or name.startswith("."):
        raise SegmentError(f"bad shared-memory name {name!r}: use letters, digits, '_', '-', '.'")
    return os.path.join(SHM_DIR, name)


def create(name: str, size: int, initialise: Callable[[mmap.mmap], None]) -> bool:
    """Create segment ``name`` of ``size`` bytes, filled by ``initialise``.

    Returns False (and creates nothing) if the name already exists.
    """
    final = path_of(name)
    temporary = os.path.join(SHM_DIR, f".{name}.init.{os.getpid()}")
    fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
        with mmap.mmap(fd, size) as memory:
            initialise(memory)
        try:
            os.link(temporary, final)
        except FileExistsError:
            return False
        return True
    finally:
        os.close(fd)
        os.unlink(temporary)


def open_segment(name: str) -> tuple[int, mmap.mmap]:
    """Open an existing segment: its file descriptor and a shared mapping."""
    path = path_of(name)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        raise SegmentError(f"no shared-memory segment {name!r} (looked for {path})") from None
    try:
        size = os.fstat(fd).st_size
        return fd, mmap.mmap(fd, size)
    except BaseException:
        os.close(fd)
        raise


def exists(name: str) -> bool:
    return os.path.exists(path_of(name))


def remove(name: str) -> bool:
    """Unlink segment ``name``. Processes that have it mapped keep their mapping."""
    try:
        os.unlink(path_of(name))
        return True
    except FileNotFoundError:
        return False


def names(prefix: str = "") -> list[str]:
    """Segment names in SHM_DIR starting with ``prefix``, sorted."""
    try:
        entries = os.listdir(SHM_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in entries if n.startswith(prefix) and not n.startswith("."))


def try_lock(fd: int, offset: int) -> bool:
    """Take the exclusive OFD lock on byte ``offset``; False if someone else holds it."""
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
        return True
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise


def unlock(fd: int, offset: int) -> None:
    request = struct.pack(_FLOCK, fcntl.F_UNLCK, os.SEEK_SET, offset, 1, 0)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)


def is_locked(fd: int, offset: int) -> bool:
    """Whether another open file description holds a lock on byte ``offset``."""
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
    answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, request)
    return struct.unpack(_FLOCK, answer)[0] != fcntl.F_UNLCK
