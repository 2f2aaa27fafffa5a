"""`tickagg run`'s status line against real supervised feed processes: a feed that cannot connect is alive but
not connected; a feed whose process exits at every start is shown crash-looping, never connected."""
from __future__ import annotations

import re

from feed_helpers import metrics, wait_until

from bench.clickhouse_server import free_port
from shm import segment
from shm.ring import MONITOR, Ring, ring_name
from tickagg.run_status import GroupStatus
from tickagg.supervisor import Role, Supervisor


def test_status_counts_neither_an_unreachable_feed_nor_a_crash_looping_one(group, tmp_path):
    unreachable = f"ws://127.0.0.1:{free_port()}"  # nothing listens there
    roles = [Role("feed-binance", ["feed", "binance", "--url", unreachable, "--symbols", "BTCUSDT", "--group", group]),
             # passes for a URL only to a shell: the feed refuses it and exits 2 at every start
             Role("feed-okx", ["feed", "okx", "--url", "http://not-websocket", "--group", group])]
    supervisor = Supervisor(roles, str(tmp_path / "logs"))
    status = GroupStatus(group, ["binance", "okx"], None, supervisor.roles)
    supervisor.start()
    try:
        def looped_twice() -> bool:
            supervisor.check()
            return roles[1].restarts >= 2 and roles[1].restart_at is not None
        wait_until(looped_twice, 60, "feed-okx restarted twice")
        wait_until(lambda: _producer_alive(group, "binance"), 30, "the binance feed holding its ring")
        line = status.line()
        assert "feeds 0/2 connected" in line, line
        looping = re.search(r"crash-looping: (.*)$", line)
        assert looping and re.fullmatch(r"feed-okx \((\d+) restarts, last exit 2\)", looping.group(1)), line
        assert int(re.search(r"\((\d+) restarts", line).group(1)) == roles[1].restarts
        assert roles[0].alive and not roles[0].exit_codes  # the unreachable feed keeps trying, in one process
        assert metrics(group, "binance")["connected"] == 0 and metrics(group, "binance")["connects"] == 0
    finally:
        supervisor.stop()


def _producer_alive(group: str, venue: str) -> bool:
    name = ring_name(group, venue)
    if not segment.exists(name):
        return False
    with Ring(name, MONITOR, numba=False) as ring:
        return ring.status()["producer_alive"]
