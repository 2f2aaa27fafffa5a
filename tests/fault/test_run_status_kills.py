"""A feed SIGKILLed while connected leaves ``connected = 1`` in its ring: the status line must not believe it.
Real feed process, real WebSocket connection to the simulator, the supervisor restarting it."""
from __future__ import annotations

import re
import signal

import pytest
from feed_helpers import metrics, wait_until

from tickagg.run_status import GroupStatus
from tickagg.supervisor import Role, Supervisor

pytestmark = pytest.mark.simulator(["binance"], rate=200)


def _connected(line: str) -> int:
    return int(re.search(r"feeds (\d+)/1 connected", line).group(1))


def test_killed_feed_is_not_connected_and_shows_as_crash_looping(sim, group, tmp_path):
    symbols = ",".join(sim.venue_stats("binance")["symbols"])
    role = Role("feed-binance", ["feed", "binance", "--url", sim.url("binance"), "--symbols", symbols, "--group", group])
    supervisor = Supervisor([role], str(tmp_path / "logs"))
    status = GroupStatus(group, ["binance"], None, supervisor.roles)
    supervisor.start()
    try:
        wait_until(lambda: metrics(group, "binance")["ticks"] > 20, 60, "first ticks")
        assert _connected(status.line()) == 1 and "crash-looping" not in status.line()
        role.process.send_signal(signal.SIGKILL)
        role.process.wait(10)
        assert metrics(group, "binance")["connected"] == 1  # what the dead process left in its ring
        line = status.line()
        assert _connected(line) == 0, line
        supervisor.check()  # sees the exit, schedules the restart
        line = status.line()
        assert _connected(line) == 0 and "crash-looping: feed-binance (0 restarts, last exit -9)" in line, line
        # restarted while the venue refuses connections: alive, but not connected (the dead run's 1 is not kept)
        sim.fault("binance", "refuse", seconds=4.0)
        wait_until(lambda: (supervisor.check(), role.restarts == 1 and role.alive)[1], 30, "restart")
        wait_until(lambda: metrics(group, "binance")["connected"] == 0, 10, "the restarted feed's own counters")
        assert _connected(status.line()) == 0
        # the venue accepts again: connected, and still named until it has been up for STABLE_S
        wait_until(lambda: _connected(status.line()) == 1, 30, "reconnect")
        assert "crash-looping: feed-binance (1 restart, last exit -9)" in status.line()
    finally:
        supervisor.stop()
