"""Named POSIX shared-memory segments (files in /dev/shm) and the locks on them.

We open ``/dev/shm/<name>`` ourselves rather than use
``multiprocessing.shared_memory``: on Python 3.11 that class registers every
segment with the resource_tracker, which unlinks it when the *attaching*
process exits — a ring must outlive its processes. Here nothing is removed
behind anybody's back; removal is explicit (``remove``).

A segment becomes visible only fully initialised: it is written under a
private temporary name and then hard-linked to its real name, which fails if
the name exists (so concurrent creators agree on one segment).

Only the running user's own files are used: every open is ``O_NOFOLLOW``
(a symbolic link is refused, never followed) and the opened file must be a
regular file owned by the effective user with no permission bits beyond 0600
(``_check_ours``); segments are created 0600 whatever the umask. Another
local user who makes ``/dev/shm/tickagg.<group>.<ring>`` first gets a clear
refusal (``SegmentRefusedError``), not a pipeline that reads or writes their file.

Role locks are Linux open-file-description (OFD) locks on one byte of the
segment: the kernel releases them when the holder dies, SIGKILL included, so
"is the consumer alive?" never depends on pids that may be reused.
"""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import pwd
import re
import secrets
import stat
import struct
from typing import Callable

SHM_DIR = os.environ.get("TICKAGG_SHM_DIR", "/dev/shm")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_FLOCK = "hhqqi4x"  # struct flock: l_type, l_whence, l_start, l_len, l_pid (+pad)
_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
MODE = 0o600  # the only permission bits a segment may have
EXIT_REFUSED = 78  # EX_CONFIG: a process that exits with it needs its operator; restarting at once will not help


class SegmentError(RuntimeError):
    """A shared-memory segment that cannot be created, opened or used."""


class SegmentMissingError(SegmentError):
    """No segment of that name."""


class SegmentRefusedError(SegmentError):
    """A segment tickagg will not use: a symbolic link, not a regular file, another user's, or open to others."""


def path_of(name: str) -> str:
    if not _NAME.match(name) or name.startswith("."):
        raise SegmentError(f"bad shared-memory name {name!r}: use letters, digits, '_', '-', '.'")
    return os.path.join(SHM_DIR, name)


def create(name: str, size: int, initialise: Callable[[mmap.mmap], None]) -> bool:
    """Create segment ``name`` of ``size`` bytes, filled by ``initialise``.

    Returns False (and creates nothing) if the name already exists.
    """
    final = path_of(name)
    # an unpredictable private name: another user cannot squat it in advance (O_EXCL refuses links too)
    temporary = os.path.join(SHM_DIR, f".{name}.init.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(temporary, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, MODE)
    try:
        os.fchmod(fd, MODE)  # exactly 0600, whatever the umask took away
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
    fd = open_checked(name)
    try:
        size = os.fstat(fd).st_size
        return fd, mmap.mmap(fd, size)
    except BaseException:
        os.close(fd)
        raise


def open_checked(name: str) -> int:
    """The file descriptor of existing segment ``name``, refused unless it is ours (``_check_ours``)."""
    path = path_of(name)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise SegmentMissingError(f"no shared-memory segment {name!r} (looked for {path})") from None
    except OSError as exc:  # ELOOP: a symbolic link; EACCES: another user's file; EISDIR ...
        raise SegmentRefusedError(_refusal(name, path, *_what_is_there(path, exc))) from None
    try:
        _check_ours(name, path, os.fstat(fd))
        return fd
    except BaseException:
        os.close(fd)
        raise


def _check_ours(name: str, path: str, info: os.stat_result) -> None:
    """Refuse what the open found unless it is a regular file of the effective user with mode 0600 or less."""
    if not stat.S_ISREG(info.st_mode):
        raise SegmentRefusedError(_refusal(name, path, info, "not a regular file"))
    if info.st_uid != os.geteuid():
        raise SegmentRefusedError(_refusal(name, path, info, f"owned by another user than {_user(os.geteuid())}, who runs this process"))
    if stat.S_IMODE(info.st_mode) & ~MODE:
        raise SegmentRefusedError(_refusal(name, path, info, "open to other users (tickagg segments are mode 0600)"))


def _what_is_there(path: str, exc: OSError) -> tuple[os.stat_result | None, str]:
    """What stopped the open, for the refusal message (never following a link)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None, exc.strerror or str(exc)
    if stat.S_ISLNK(info.st_mode):
        try:
            return info, f"a symbolic link to {os.readlink(path)!r}, and tickagg never follows links there"
        except OSError:
            return info, "a symbolic link, and tickagg never follows links there"
    return info, exc.strerror or str(exc)


def _refusal(name: str, path: str, info: os.stat_result | None, problem: str) -> str:
    found = "" if info is None else f" (owner {_user(info.st_uid)}, mode {stat.filemode(info.st_mode)} {stat.S_IMODE(info.st_mode):04o})"
    group = name.split(".")[1] if name.startswith("tickagg.") and name.count(".") >= 2 else "GROUP"  # no import cycle
    return (f"refusing to use {path}: {problem}{found}. Someone else may have made it to read or inject "
            f"data: check who made it, then remove it (as root, or with `tickagg rings --remove {group}`) and start "
            "again")


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def exists(name: str) -> bool:
    """Whether the name is taken (by anything, a symbolic link included: opening it is refused)."""
    return os.path.lexists(path_of(name))


def remove(name: str) -> bool:
    """Unlink segment ``name``. Processes that have it mapped keep their mapping."""
    try:
        os.unlink(path_of(name))
        return True
    except FileNotFoundError:
        return False


def names(prefix: str = "") -> list[str]:
    """Segment names in SHM_DIR starting with ``prefix``, sorted (one group's: ``shm.names.group_segments``)."""
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
