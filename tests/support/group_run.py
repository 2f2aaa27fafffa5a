"""`tickagg run` in the background, stopped (SIGTERM, as an operator would) once its status lines show what a test
waits for, instead of a fixed ``--seconds``: a slow start on a loaded machine then costs time, never the test,
and a quick one does not sit out a window.

A stop by signal is a normal end (exit status 0 whatever happened before), so the timed run's judgement (exit 1:
a process down at the end, or restarted and not up for the supervisor's STABLE_S since) is made from the output
instead: ``Finished.assert_settled`` (no role crash-looping on the final line: the same judgement; wait for a status
line with ``not looping`` first) or the stricter ``Finished.assert_no_restarts`` (no restart at all).
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

COUNTS = re.compile(r"feeds (\d+)/(\d+) connected, ([\d,]+) ticks received.*?([\d,]+) aggregated(?:, ([\d,]+) stored)?")


@dataclass(frozen=True)
class Status:
    """One status (or final) line's figures."""
    connected: int
    feeds: int
    received: int
    aggregated: int
    stored: int | None  # None without a writer
    looping: bool  # a role named crash-looping: exited, and not up again for the supervisor's STABLE_S

    @classmethod
    def parse(cls, line: str) -> "Status":
        found = COUNTS.search(line)
        assert found, line
        connected, feeds, received, aggregated, stored = found.groups()
        number = lambda text: int(text.replace(",", ""))  # noqa: E731
        return cls(int(connected), int(feeds), number(received), number(aggregated),
                   None if stored is None else number(stored), "; crash-looping: " in line)


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str

    @property
    def final(self) -> Status:
        line = next((line for line in self.stdout.splitlines() if line.startswith("final:")), None)
        assert line is not None, self.stdout[-3000:] + self.stderr[-3000:]
        return Status.parse(line)

    def assert_settled(self) -> None:
        """Exit 0 and no role crash-looping at the end: what exit 0 of a timed run (--seconds) says."""
        said = self.stdout[-3000:] + self.stderr[-3000:]
        assert self.returncode == 0 and not self.final.looping, said

    def assert_no_restarts(self) -> None:
        """Exit 0, and no process restarted or crash-looping at any status line."""
        said = self.stdout[-3000:] + self.stderr[-3000:]
        assert self.returncode == 0, said
        assert "restarts:" not in self.stdout and "crash-looping" not in self.stdout, said


class GroupRun:
    """``tickagg run ARGS --status-every 1`` with its output read by two threads (whole lines only)."""

    def __init__(self, *args: str, status_every: float = 1.0):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tickagg.cli", "run", *args, "--status-every", str(status_every)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        self._out: list[str] = []
        self._err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self._out), (self.process.stderr, self._err))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:  # text mode: whole lines (the last one may lack its newline at EOF)
            with self._changed:
                lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, condition, timeout_s: float = 240.0) -> Status:
        """The first status line whose figures satisfy ``condition(Status)``; fails (with the output) if the run
        ends first or ``timeout_s`` passes (a deadline for a broken run, not a measure: a slow start just waits)."""
        deadline, seen = time.monotonic() + timeout_s, 0
        with self._changed:
            while True:
                for line in self._out[seen:]:
                    if line.startswith("status:") and line.endswith("\n") and condition(status := Status.parse(line)):
                        return status
                seen = len(self._out)
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, (
                    f"the run {'ended' if self.process.poll() is not None else 'never got there'}:\n"
                    + "".join(self._out)[-3000:] + "".join(self._err)[-3000:])
                self._changed.wait(min(left, 1.0))

    def stop(self, timeout_s: float = 180.0) -> Finished:
        """SIGTERM (if still running), then everything it said."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(30)
            for reader in self._readers:
                reader.join(30)
        return Finished(self.process.returncode, "".join(self._out), "".join(self._err))
