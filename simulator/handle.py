"""Run the simulator in its own process, for tests and benchmarks.

    with start_simulator(["okx"], rate=1000) as sim:
        url = venue.url_for(sim.url("okx"), symbols)
        ...
        sim.fault("okx", "stall", seconds=2)
        sim.pause("okx")
        sent = sim.stats()["venues"]["okx"]["trades"]

The process is ``python -m simulator.simulate_command`` with ``--watch-stdin``: it
stops when this process closes its stdin, so even a parent that dies leaves no
server behind. ``stop()`` (or leaving the ``with``) asks it to stop, then kills
it if it does not.
"""
from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
import weakref
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]


class SimulatorError(RuntimeError):
    """The simulator refused a command or did not start."""


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(5)


class SimulatorHandle:
    """A running simulator process: URLs, stats, faults, rate, pause/resume, stop."""

    def __init__(self, process: subprocess.Popen, urls: dict[str, str], control: tuple[str, int]):
        self.process = process
        self.urls = urls
        self.control_address = control
        self.final_stats: dict | None = None
        self._control = socket.create_connection(control, timeout=10.0)
        self._replies = b""
        self._finalizer = weakref.finalize(self, _kill, process)

    def url(self, venue: str) -> str:
        """The base URL to pass to the venue module's ``url_for``."""
        return self.urls[venue]

    def command(self, **request: object) -> dict:
        """Send one control command; returns the reply, raises ``SimulatorError`` if refused."""
        self._control.sendall(orjson.dumps(request) + b"\n")
        while b"\n" not in self._replies:
            chunk = self._control.recv(1 << 16)
            if not chunk:
                raise SimulatorError("the simulator closed the control connection")
            self._replies += chunk
        line, _, self._replies = self._replies.partition(b"\n")
        reply = orjson.loads(line)
        if not reply.get("ok"):
            raise SimulatorError(reply.get("error", "command refused"))
        return reply

    def stats(self) -> dict:
        return self.command(cmd="stats")["stats"]

    def venue_stats(self, venue: str) -> dict:
        return self.stats()["venues"][venue]

    def fault(self, venue: str, kind: str, **params: object) -> dict:
        """``kind``: drop, stall (seconds), malformed (count), skip (count, symbol), refuse (seconds)."""
        return self.command(cmd="fault", venue=venue, kind=kind, **params)

    def rate(self, venue: str | None, rate: float | str | None) -> None:
        """Trades per second (0, None or "max": as fast as the sockets take them)."""
        self.command(cmd="rate", **({"venue": venue} if venue else {}), rate=rate or "max")

    def pause(self, venue: str | None = None) -> None:
        self.command(cmd="pause", **({"venue": venue} if venue else {}))

    def resume(self, venue: str | None = None) -> None:
        self.command(cmd="resume", **({"venue": venue} if venue else {}))

    def stop(self, timeout: float = 5.0) -> dict | None:
        """Stop the process; returns its final stats (None if it had to be killed)."""
        if self.process.poll() is None:
            try:
                self.command(cmd="stop")
            except (OSError, SimulatorError):
                pass
        try:
            self._control.close()
            if self.process.stdin is not None:
                self.process.stdin.close()  # --watch-stdin: this alone stops it too
                self.process.stdin = None
            out, _ = self.process.communicate(timeout=timeout)
            for line in out.splitlines():
                if line.startswith(b'{"stats"'):
                    self.final_stats = orjson.loads(line)["stats"]
        except subprocess.TimeoutExpired:
            pass
        self._finalizer()
        return self.final_stats

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_simulator(exchanges: list[str] | str = "all", rate: float | str | dict | None = 100.0,
                    symbols: dict[str, list[str]] | None = None, *, heartbeat_scale: float = 1.0,
                    host: str = "127.0.0.1", port: int = 0, control_port: int = 0,
                    timeout: float = 20.0, universe: int = 0, arrivals: str = "paced", seed: int = 0,
                    zipf: float | None = None, tick_us: float | None = None) -> SimulatorHandle:
    """Start ``tickagg simulate`` in a child process and wait until every port listens.

    ``rate``: trades/s per venue (0, None or "max": as fast as sockets take them), or a dict
    {venue: rate} (key ``"*"``: the other venues; default 100);
    ``symbols``: {venue: [symbol, ...]} as the venue writes them (default: each venue's own);
    ``universe``: that many symbols spread over the venues (simulator/universe.py);
    ``arrivals``: "paced" or "poisson" (with ``seed``, ``zipf``, ``tick_us``: simulator/arrivals.py).
    """
    venues = exchanges if isinstance(exchanges, str) else ",".join(exchanges)
    spec = ";".join(f"{venue}={','.join(names)}" for venue, names in (symbols or {}).items())
    if isinstance(rate, dict):
        rates = ",".join(f"{venue}={value or 'max'}" for venue, value in rate.items() if venue != "*")
        rate_spec = ",".join(filter(None, [str(rate.get("*", 100.0) or "max"), rates]))
    else:
        rate_spec = str(rate or "max")
    command = [sys.executable, "-m", "simulator.simulate_command", "--exchanges", venues,
               "--rate", rate_spec, "--host", host, "--port", str(port),
               "--control-port", str(control_port), "--heartbeat-scale", str(heartbeat_scale), "--watch-stdin"]
    if spec:
        command += ["--symbols", spec]
    if universe:
        command += ["--universe", str(universe)]
    if arrivals != "paced":
        command += ["--arrivals", arrivals, "--seed", str(seed)]
        command += ["--zipf", str(zipf)] if zipf is not None else []
        command += ["--tick-us", str(tick_us)] if tick_us is not None else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO)
    try:
        urls, control = _read_addresses(process, timeout)
        return SimulatorHandle(process, urls, control)
    except BaseException:
        _kill(process)
        raise


def _read_addresses(process: subprocess.Popen, timeout: float) -> tuple[dict[str, str], tuple[str, int]]:
    """The venue URL lines and the control line the command prints at start."""
    deadline = time.monotonic() + timeout
    fd = process.stdout.fileno()
    pending = b""
    urls = {}
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SimulatorError(f"the simulator did not start within {timeout} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise SimulatorError(f"the simulator exited at start (code {process.wait(5)})")
        pending += chunk
        while b"\n" in pending:
            line, _, pending = pending.partition(b"\n")
            record = orjson.loads(line)
            if "venue" in record:
                urls[record["venue"]] = record["url"]
            elif "control" in record:
                return urls, (record["host"], record["port"])
