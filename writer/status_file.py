"""Publish the writer's status as a JSON file, atomically: a reader sees the previous file or the new one, whole.

The writer always publishes to ``<state-dir>/<group>/status.json`` (where `tickagg status` looks, for a group
started by `tickagg run` or by the systemd units) and, with ``--report PATH``, to that path too. Each file is
written beside its place as ``<path>.tmp`` (created anew, mode 0600, never through a link) and renamed over it.
A file that cannot be written is logged (once per reason) and skipped: the status never stops the writer.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger("tickagg.writer")
MODE = 0o600


class StatusFile:
    """One place the writer's status is published."""

    def __init__(self, path: str):
        self.path = path
        self._failed: str | None = None  # the last failure logged

    def publish(self, data: bytes) -> bool:
        temporary = self.path + ".tmp"
        try:
            try:
                os.unlink(temporary)  # a leftover (a writer killed mid-write) or something planted: not ours to reuse
            except FileNotFoundError:
                pass
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, MODE)
            try:
                os.fchmod(fd, MODE)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
        except OSError as exc:
            if self._failed != str(exc):
                log.warning("cannot publish the writer's status to %s: %s", self.path, exc)
            self._failed = str(exc)
            return False
        self._failed = None
        return True
