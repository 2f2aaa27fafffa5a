"""One status line for `tickagg run`: feeds connected, ticks in, ticks through the aggregator, rows stored.

A formatter over the group snapshot `tickagg status` shows (tickagg/group_snapshot.py): a feed counts as connected
only while its process holds the ring's producer role (alive), is running under the supervisor, and has a
connection up (the ``connected`` metric of a killed feed stays 1 in the ring, so it is never trusted alone).
Roles the supervisor sees crash-looping (exited, and not up again for supervisor.STABLE_S) are named at the end
of the line with their restarts and last exit code.

A ring that cannot be read (damaged, foreign, truncated, another user's) is named in the line, never fatal: the
others are shown as usual.
"""
from __future__ import annotations

import time

from tickagg.group_snapshot import read_group
from tickagg.snapshot_rates import per_second
from tickagg.supervisor import Role


class GroupStatus:
    def __init__(self, group: str, exchanges: list[str], writer_report: str | None, roles: list[Role] = ()):
        self.group, self.exchanges, self.writer_report = group, exchanges, writer_report
        self.roles = {role.name: role for role in roles}
        self._last: tuple[int, int, int] | None = None  # (time_ns, received, aggregated) of the last line

    def line(self, final: bool = False) -> str:
        snapshot = read_group(self.group, roles=self.roles.values(), exchanges=self.exchanges, report=self.writer_report)
        feeds = [snapshot["venues"][x] for x in self.exchanges]
        received = sum(feed["ticks"] for feed in feeds)
        connected = sum(1 for feed in feeds if feed["alive"] and feed["connections"] > 0)
        errors = sum(feed["errors"] for feed in feeds)
        aggregated = snapshot["aggregator"]["ticks"]
        rate, now = "", (snapshot["time_ns"], received, aggregated)
        if self._last is not None:
            elapsed = (now[0] - self._last[0]) / 1e9
            rate = (f" ({_per_s(per_second(self._last[1], received, elapsed))} in, "
                    f"{_per_s(per_second(self._last[2], aggregated, elapsed))} aggregated)")
        self._last = now
        head = "final:" if final else "status:"
        unreadable = snapshot["unreadable"]
        unreadable = f", damaged or refused rings: {' '.join(unreadable)} (see `tickagg rings`)" if unreadable else ""
        return (f"{head} feeds {connected}/{len(self.exchanges)} connected, {received:,} ticks received{rate}, "
                f"{aggregated:,} aggregated{self._stored(snapshot['writer'])}, {errors} bad frames{unreadable}"
                f"{self._crash_looping(time.monotonic())}")

    def _crash_looping(self, now: float) -> str:
        looping = [f"{role.name} ({role.restarts} restart{'s' if role.restarts != 1 else ''}, last exit {role.exit_codes[-1]})"
                   for role in self.roles.values() if role.crash_looping(now)]
        return f"; crash-looping: {', '.join(looping)}" if looping else ""

    def _stored(self, writer: dict) -> str:
        """Ticks stored, rows spilled, and what the writer reports going wrong with the store ("" without a writer)."""
        if not self.writer_report:
            return ""
        spilled = writer["spill_rows"] or 0
        text = f", {writer['rows_stored'].get('ticks', 0):,} stored" + (f" ({spilled:,} rows spilled)" if spilled else "")
        if writer["dead_letter_rows"]:
            text += f", {writer['dead_letter_rows']:,} rows refused by the store (dead letters)"
        if writer["store_error"]:
            text += f", STORE DOWN: {writer['store_error'][:160]}"
        return text


def _per_s(value: float | None) -> str:
    return "-/s" if value is None else f"{value:,.0f}/s"
