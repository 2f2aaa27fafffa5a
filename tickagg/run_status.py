"""One status line for `tickagg run`: feeds connected, ticks in, ticks through the aggregator, rows stored.

A feed counts as connected only while its process holds the ring's producer role
(alive) and its loop says the connection is up: the ``connected`` metric of a
killed feed stays 1 in the ring, so it is never trusted alone. Roles the supervisor
sees crash-looping (exited, and not up again for supervisor.STABLE_S) are named
at the end of the line with their restarts and last exit code.

A ring that cannot be read (damaged, foreign, truncated, another user's) is named
in the line, never fatal: the others are shown as usual.
"""
from __future__ import annotations

import os
import time

import orjson

from shm import segment
from shm.ring import MONITOR, Ring, RingError, ring_name
from shm.topology import tick_ring
from tickagg.supervisor import Role


class GroupStatus:
    def __init__(self, group: str, exchanges: list[str], writer_report: str | None, roles: list[Role] = ()):
        self.group, self.exchanges, self.writer_report = group, exchanges, writer_report
        self.roles = {role.name: role for role in roles}
        self._last: tuple[float, int, int] | None = None
        self._unreadable: list[str] = []

    def _ring(self, short: str) -> dict | None:
        """The ring's status; None if it does not exist or cannot be read (then it is named in the line)."""
        name = ring_name(self.group, short)
        if not segment.exists(name):
            return None
        try:
            with Ring(name, MONITOR, numba=False) as ring:
                status = ring.status()
        except (RingError, OSError, ValueError):  # its process says why (the supervisor shows it); `tickagg rings` too
            self._unreadable.append(short)
            return None
        if status.get("problem"):
            self._unreadable.append(short)
        return status

    def line(self, final: bool = False) -> str:
        self._unreadable = []
        feeds = [self._ring(tick_ring(x)) for x in self.exchanges]
        received = sum(f["metrics"].get("ticks", 0) for f in feeds if f)
        connected = sum(1 for x, f in zip(self.exchanges, feeds) if self._connected(x, f))
        errors = sum(f["metrics"].get("errors", 0) for f in feeds if f)
        aggregated_ring = self._ring("out.ticks")
        aggregated = aggregated_ring["metrics"].get("ticks", 0) if aggregated_ring else 0
        stored, spilled, alert = self._stored()
        now = time.monotonic()
        rate = ""
        if self._last is not None:
            elapsed = now - self._last[0]
            rate = f" ({(received - self._last[1]) / elapsed:,.0f}/s in, {(aggregated - self._last[2]) / elapsed:,.0f}/s aggregated)"
        self._last = (now, received, aggregated)
        head = "final:" if final else "status:"
        store = "" if stored is None else f", {stored:,} stored" + (f" ({spilled:,} rows spilled)" if spilled else "") + alert
        unreadable = (f", damaged or refused rings: {' '.join(self._unreadable)} (see `tickagg rings`)"
                      if self._unreadable else "")
        return (f"{head} feeds {connected}/{len(self.exchanges)} connected, {received:,} ticks received{rate}, "
                f"{aggregated:,} aggregated{store}, {errors} bad frames{unreadable}{self._crash_looping(now)}")

    def _connected(self, exchange: str, feed: dict | None) -> bool:
        """The feed's process is alive (holds the producer role; and, when supervised, is running) and its connection is up."""
        role = self.roles.get(f"feed-{exchange}")
        return bool(feed and feed["producer_alive"] and feed["metrics"].get("connected")
                    and (role is None or role.alive))

    def _crash_looping(self, now: float) -> str:
        looping = [f"{role.name} ({role.restarts} restart{'s' if role.restarts != 1 else ''}, last exit {role.exit_codes[-1]})"
                   for role in self.roles.values() if role.crash_looping(now)]
        return f"; crash-looping: {', '.join(looping)}" if looping else ""

    def _stored(self) -> tuple[int | None, int, str]:
        """Ticks stored, rows spilled, and what the writer reports going wrong with the store (or "")."""
        if not self.writer_report or not os.path.exists(self.writer_report):
            return (None, 0, "") if not self.writer_report else (0, 0, "")
        try:
            with open(self.writer_report, "rb") as f:
                report = orjson.loads(f.read())
        except (OSError, orjson.JSONDecodeError):
            return 0, 0, ""
        alert = f", {report['dead_letter_rows']:,} rows refused by the store (dead letters)" if report.get("dead_letter_rows") else ""
        if report.get("store_error"):
            alert += f", STORE DOWN: {str(report['store_error'])[:160]}"
        return int(report.get("rows_stored", {}).get("ticks", 0)), int(report.get("spill_rows", 0)), alert
