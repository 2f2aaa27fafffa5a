"""A quiet feed wakes once per lone frame, not twice (feeds/loop.py, feeds/connections.py): real feed
processes (one connection: blocking reads; two: the epoll loop) against the simulator at 3 trades/s,
their wakeups counted from outside (/proc: the main thread's voluntary context switches)."""
from __future__ import annotations

import contextlib
import signal
import time

from feed_helpers import metrics, start_feed, stop_feed, wait_until
from shm import segment
from simulator.handle import start_simulator

SYMBOLS = ["BTC-USDT", "ETH-USDT"]
WINDOW_S = 6.0  # 18 frames at 3/s


def _switches(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches"))


@contextlib.contextmanager
def _okx_feeds(group: str):
    """The simulator's okx at 3 trades/s and two okx feeds on it, each in its own group, both delivering: (simulator,
    {"single": one connection (blocking reads), "epoll": two connections (the epoll loop)}, their groups)."""
    groups = {"single": f"{group}s", "epoll": f"{group}m"}
    sim = start_simulator(["okx"], rate=3.0)
    feeds = {}
    try:
        feeds["single"] = start_feed("okx", sim.url("okx"), groups["single"], SYMBOLS)
        feeds["epoll"] = start_feed("okx", sim.url("okx"), groups["epoll"], SYMBOLS, "--connection-symbols", "1")
        for kind, name in groups.items():
            wait_until(lambda n=name: metrics(n, "okx")["ticks"] >= 2, 60, f"{kind} feed's first ticks")
        yield sim, feeds, groups
    finally:
        for feed in feeds.values():
            stop_feed(feed)
        sim.stop()
        for name in groups.values():
            for segment_name in segment.names(f"tickagg.{name}."):
                segment.remove(segment_name)


def test_a_lone_frame_costs_one_wakeup(group):
    with _okx_feeds(group) as (_, feeds, groups):
        before = {kind: (metrics(name, "okx")["reads"], _switches(feeds[kind].pid)) for kind, name in groups.items()}
        time.sleep(WINDOW_S)  # a measuring window, not a wait for a condition
        after = {kind: (metrics(name, "okx")["reads"], _switches(feeds[kind].pid)) for kind, name in groups.items()}
    counts = {kind: (after[kind][0] - before[kind][0], after[kind][1] - before[kind][1]) for kind in groups}
    # one per frame (+ a pong every 20 s, a read counted late); ce1c478 took 2 (single) and 1.5 (epoll)
    assert all(reads >= WINDOW_S and wakeups <= 1.25 * reads + 1 for reads, wakeups in counts.values()), counts


def test_a_silent_feed_sleeps_for_seconds_and_a_sigterm_still_stops_it_at_once(group):
    """okx (stale limit 30 s, ping every 20 s) waits Feed.idle_wait_s = 5 s for a frame; the stop signal ends
    that wait (feeds/stop.py) instead of the wait's end."""
    with _okx_feeds(group) as (sim, feeds, _):
        sim.pause("okx")
        time.sleep(1.0)  # the last frames read
        before = {kind: _switches(feed.pid) for kind, feed in feeds.items()}
        time.sleep(WINDOW_S)  # a measuring window, not a wait for a condition
        wakeups = {kind: _switches(feed.pid) - before[kind] for kind, feed in feeds.items()}
        took = {}
        for kind, feed in feeds.items():  # each signalled ~2.5 s into a 5 s wait on average
            started = time.monotonic()
            feed.send_signal(signal.SIGTERM)
            feed.wait(30)
            took[kind] = time.monotonic() - started
        codes = {kind: feed.returncode for kind, feed in feeds.items()}
    # 6 s silent: one or two 5 s waits, maybe a ping's answer (1 each here; 1 s waits took 5-6)
    assert all(count <= 3 for count in wakeups.values()), wakeups
    assert codes == {"single": 0, "epoll": 0}, codes
    # at once: the process's exit (closing the connection, the rings) is all it waits for, not the read's 5 s
    assert all(seconds < 1.5 for seconds in took.values()), took
