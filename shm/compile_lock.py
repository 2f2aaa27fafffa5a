"""One Numba compiler at a time per kernel cache directory.

Numba's on-disk cache is not safe for two processes compiling into the same
directory at once: each numbers the overloads it saves, and one process's index
can end up naming another's machine code (seen here: an aggregator that stored
zeros, then aborted with "corrupted size vs. prev_size", after a warm-up ran
beside a starting group). So whoever compiles or loads the kernels (the
aggregator's warm-up, `make setup`'s compile) holds an exclusive lock on a file
in the cache directory; a second process waits, then loads what the first saved.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

LOCK_NAME = ".compile.lock"


@contextlib.contextmanager
def compile_lock(directory: str | None = None) -> Iterator[None]:
    """Hold the cache directory's compile lock (``NUMBA_CACHE_DIR`` by default); released when the process dies."""
    directory = directory or os.environ["NUMBA_CACHE_DIR"]
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
