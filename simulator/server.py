"""The simulator: one process, one thread, one ``selectors`` loop serving every venue.

Each turn of the loop: wait for socket events (at most until the next trade
tick or housekeeping), handle them (accepts, client frames, writable sockets,
control commands), run housekeeping every 10 ms (heartbeats, stall and refuse
windows, close deadlines), then let each venue generate one tick of trades.
"""
from __future__ import annotations

import os
import selectors
import time

from simulator.clock import Clock
from simulator.config import SimulatorConfig
from simulator.control import ControlServer
from simulator.endpoint import Endpoint
from simulator.venues import VENUES

HOUSEKEEPING_S = 0.01


class Simulator:
    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.selector = selectors.DefaultSelector()
        self.clock = Clock(round(config.clock_offset_s * 1e9))
        self.endpoints: dict[str, Endpoint] = {}
        self.control: ControlServer | None = None
        self.stopping = False  # set by stop(), even before serve() starts
        self._next_housekeeping = 0.0

    def open(self) -> None:
        """Bind every venue's port and the control port."""
        config = self.config
        for index, name in enumerate(config.venues):
            arrivals = ((config.seed * 1000 + index, config.zipf, config.tick_us / 1e6)
                        if config.arrivals == "poisson" else None)
            endpoint = Endpoint(VENUES[name], config.symbols_of(name), config.rate_of(name), config.host,
                                config.port_of(index), self.selector, self.clock, config.heartbeat_scale, arrivals)
            endpoint.listen()
            self.endpoints[name] = endpoint
        self.control = ControlServer(self.selector, self.command, config.host, config.control_port)

    def watch_stdin(self) -> None:
        """Stop when stdin reaches EOF (the parent that started us is gone)."""
        fd = 0
        self.selector.register(fd, selectors.EVENT_READ, lambda mask: self._stdin(fd))

    def _stdin(self, fd: int) -> None:
        if not os.read(fd, 4096):
            self.selector.unregister(fd)
            self.stop()

    def serve(self, seconds: float | None = None) -> None:
        """Run the loop until ``stop`` (a control command or a signal handler) or ``seconds``."""
        end = time.monotonic() + seconds if seconds else None
        endpoints = list(self.endpoints.values())
        while not self.stopping:
            now = time.monotonic()
            timeout = max(self._next_housekeeping - now, 0.0)
            for endpoint in endpoints:
                wait = endpoint.wait(now)
                if wait is not None and wait < timeout:
                    timeout = wait
            if end is not None:
                timeout = max(min(timeout, end - now), 0.0)
            for key, mask in self.selector.select(timeout):
                key.data(mask)
            now = time.monotonic()
            if now >= self._next_housekeeping:
                self._next_housekeeping = now + HOUSEKEEPING_S
                for endpoint in endpoints:
                    endpoint.housekeeping(now)
            for endpoint in endpoints:
                endpoint.generate(now)
            if end is not None and now >= end:
                break

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        for endpoint in self.endpoints.values():
            endpoint.close()
        if self.control is not None:
            self.control.close()
        self.selector.close()

    # -- commands (control port and the CLI) ----------------------------------------------------
    def stats(self) -> dict:
        return {"venues": {name: endpoint.report() for name, endpoint in self.endpoints.items()}}

    def _chosen(self, request: dict) -> list[Endpoint]:
        name = request.get("venue")
        if name is None:
            return list(self.endpoints.values())
        if name not in self.endpoints:
            raise ValueError(f"venue {name!r} is not simulated here; simulated: {', '.join(self.endpoints)}")
        return [self.endpoints[name]]

    def command(self, request: dict) -> dict:
        """One control command (see control.py); returns the reply fields."""
        cmd = request.get("cmd")
        if cmd == "stats":
            return {"stats": self.stats()}
        if cmd == "fault":
            if "venue" not in request:
                raise ValueError("fault needs a venue")
            endpoint = self._chosen(request)[0]
            return endpoint.fault(str(request.get("kind")), seconds=float(request.get("seconds", 0.0)),
                                  count=int(request.get("count", 0)), symbol=request.get("symbol"),
                                  variants=request.get("variants"), frames=request.get("frames"),
                                  connection=request.get("connection"))
        if cmd == "rate":
            rate = request.get("rate")
            rate = None if rate in (None, "max", 0) else float(rate)
            for endpoint in self._chosen(request):
                endpoint.set_rate(rate)
            return {}
        if cmd in ("pause", "resume"):
            for endpoint in self._chosen(request):
                endpoint.paused = cmd == "pause"
                if cmd == "resume":
                    endpoint.set_rate(endpoint.bucket.rate)
            return {}
        if cmd == "urls":
            return {"urls": {name: endpoint.url for name, endpoint in self.endpoints.items()}}
        if cmd == "clock":  # the venues' clock this far ahead of the wall clock from now on
            offset = request.get("offset_s")
            if type(offset) not in (int, float) or not -86400 <= offset <= 86400:
                raise ValueError("clock needs offset_s: seconds within a day either way")
            self.clock.offset_ns = round(offset * 1e9)
            return {"offset_s": offset}
        if cmd == "stop":
            self.stop()
            return {}
        raise ValueError(f"unknown command {cmd!r}; known: stats fault rate pause resume urls clock stop")

