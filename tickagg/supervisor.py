"""Supervise a process group: start each role as a real process, restart what dies, stop in order.

Roles are `tickagg` subcommands run as child processes (the same commands
systemd units start). A child that exits unasked is restarted after a delay
that doubles from 1 s to 30 s and resets once it has run for 30 s; one that
exits with ``EXIT_REFUSED`` (a shared-memory file it will not use: it needs
its operator) is logged with its reason and retried every 30 s. Stopping
sends SIGTERM to the feeds first, then the aggregator, then the writer, so
each stage can hand its last records on; whatever is still alive after the
grace period gets SIGKILL (the rings keep what was in flight).

A role may wait for a condition before its first start (``Role.start_when``):
``tickagg run`` starts the feeds only once the writer reads out.ticks, so that
ring need not hold the writer's start (tickagg/start_gate.py). Such a role is
started when the condition holds or, failing that, after ``START_WAIT_S``
(with a warning), so a writer that cannot start never keeps the feeds down.

Between checks the supervisor sleeps until a child exits (SIGCHLD), a signal
arrives, a restart is due or, while a role waits for its condition, the next
look at it (every ``GATE_POLL_S``; ``wait``), so an idle supervisor hardly wakes.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from shm.segment import EXIT_REFUSED

log = logging.getLogger("tickagg.run")
# A role that exited unasked counts as crash-looping until it has been up again this long.
STABLE_S = 10.0
START_WAIT_S = 60.0  # longest wait for a role's start condition; then it starts anyway
GATE_POLL_S = 0.1  # how often a waiting role's start condition is looked at


@dataclass
class Role:
    name: str
    argv: list[str]  # tickagg subcommand and its arguments
    stop_order: int = 0  # lower stops first
    process: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    delay_s: float = 1.0
    restart_at: float | None = None
    log_path: str = ""
    exit_codes: list[int] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict, repr=False)  # added to the child's environment (secrets)
    # first start only once this returns True (or START_WAIT_S passed); None: at once
    start_when: Callable[[], bool] | None = field(default=None, repr=False)
    waiting_since: float | None = None  # monotonic time it began waiting for start_when (None: not waiting)

    @property
    def alive(self) -> bool:
        """Its process is running now."""
        return self.process is not None and self.process.poll() is None

    def crash_looping(self, now: float) -> bool:
        """It exited unasked and is down (waiting for its restart) or has not been up again for STABLE_S
        (a stop by the supervisor is not an exit: the final status line still says what happened before)."""
        return bool(self.exit_codes) and (self.restart_at is not None or now - self.started < STABLE_S)


class Supervisor:
    def __init__(self, roles: list[Role], log_dir: str):
        self.roles = roles
        self.log_dir = log_dir
        self._wake_reader: int | None = None
        os.makedirs(log_dir, exist_ok=True)

    def start(self) -> None:
        """Start every role without a start condition; the others wait for theirs (``check`` starts them)."""
        now = time.monotonic()
        for role in self.roles:
            role.log_path = os.path.join(self.log_dir, f"{role.name}.log")
            if role.start_when is None:
                self._spawn(role)
            else:
                role.waiting_since = now
        self._start_waiting(now)

    def _start_waiting(self, now: float) -> None:
        """Start the roles whose start condition now holds, or that have waited START_WAIT_S for it. A condition
        roles share (the ten feeds wait for the same writer) is looked at once per pass."""
        answers: dict[int, bool] = {}  # id of a condition -> its answer in this pass
        for role in self.roles:
            if role.waiting_since is None:
                continue
            ready = answers.get(id(role.start_when))
            if ready is None:
                try:
                    ready = role.start_when()
                except Exception as exc:  # a condition that cannot be looked at must not keep the role down
                    log.warning("%s: its start condition failed (%s); starting it", role.name, exc)
                    ready = True
                answers[id(role.start_when)] = ready
            if not ready and now - role.waiting_since < START_WAIT_S:
                continue
            if not ready:
                log.warning("%s: its start condition did not hold within %.0f s; starting it anyway",
                            role.name, START_WAIT_S)
            role.waiting_since = None
            self._spawn(role)

    def wait(self, until: float) -> None:
        """Sleep until monotonic time ``until``, a due restart, or a signal (a child exiting sends SIGCHLD).

        Call it from the main thread, between ``check`` calls; the first call only sets up the wakeups (and
        returns at once, so an exit before that is seen by the next ``check``)."""
        if self._wake_reader is None:
            self._wake_reader = _signal_wakeups()
            return
        due = [role.restart_at for role in self.roles if role.restart_at is not None]
        if any(role.waiting_since is not None for role in self.roles):
            due.append(time.monotonic() + GATE_POLL_S)
        timeout = min([until, *due]) - time.monotonic()
        if timeout > 0:
            select.select([self._wake_reader], [], [], timeout)
        try:
            while os.read(self._wake_reader, 512):
                pass
        except BlockingIOError:
            pass

    def _spawn(self, role: Role) -> None:
        role.log_path = os.path.join(self.log_dir, f"{role.name}.log")
        with open(role.log_path, "ab") as log_file:
            role.process = subprocess.Popen([sys.executable, "-m", "tickagg.cli", *role.argv],
                                            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env={**os.environ, **role.env} if role.env else None)
        role.started = time.monotonic()
        role.restart_at = None

    def check(self) -> None:
        """Restart roles that exited (with backoff)."""
        now = time.monotonic()
        self._start_waiting(now)
        for role in self.roles:
            if role.restart_at is not None:
                if now >= role.restart_at:
                    role.restarts += 1
                    self._spawn(role)
                    log.warning("restarted %s (restart %d)", role.name, role.restarts)
                continue
            code = role.process.poll() if role.process else None
            if code is None:
                continue
            role.exit_codes.append(code)
            if code == EXIT_REFUSED:  # needs the operator: say why, try again only now and then, keep the others going
                role.restart_at = now + 30.0
                log.error("%s refused to start: %s; retrying every 30 s (log: %s)", role.name,
                          _last_line(role.log_path), role.log_path)
                continue
            if now - role.started >= 30.0:
                role.delay_s = 1.0
            role.restart_at = now + role.delay_s
            log.warning("%s exited with code %s; restarting in %.0f s (log: %s)", role.name, code, role.delay_s, role.log_path)
            role.delay_s = min(30.0, role.delay_s * 2)

    def stop(self, grace_s: float = 10.0) -> None:
        for order in sorted({role.stop_order for role in self.roles}):
            group = [r for r in self.roles if r.stop_order == order and r.process and r.process.poll() is None]
            for role in group:
                role.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            for role in group:
                try:
                    role.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop within %.0f s: SIGKILL", role.name, grace_s)
                    role.process.kill()
                    role.process.wait()


def _signal_wakeups() -> int:
    """The read end of a pipe that every signal this process handles writes a byte to (SIGCHLD included)."""
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    os.set_blocking(writer, False)
    signal.set_wakeup_fd(writer, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the child's exit reaches the pipe
    return reader


def _last_line(path: str) -> str:
    """The last non-empty line of a log (where a refusing process wrote why)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 8192))
            lines = [line for line in f.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"
