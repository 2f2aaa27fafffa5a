"""A SIGTERM that reaches a feed or the aggregator while it starts (before its own handlers) is a clean stop
(tickagg/stop_during_start.py)."""
import os
import signal

import pytest

from feeds import feed_command
from tickagg.cli import build_parser


@pytest.fixture
def handlers_kept():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_sigterm_while_starting_ends_the_feed_with_0_before_it_makes_anything(monkeypatch, handlers_kept):
    made = []
    monkeypatch.setattr(feed_command, "set_nice", lambda _nice: os.kill(os.getpid(), signal.SIGTERM))  # mid-start
    monkeypatch.setattr("feeds.loop.Feed", lambda *a, **k: made.append(a))
    args = build_parser("feed").parse_args(["feed", "binance", "--symbols", "BTCUSDT", "--url", "ws://127.0.0.1:9/ws",
                                            "--group", "stopstart"])
    assert args.run(args) == 0
    assert made == []  # no rings, no connection


def test_a_sigterm_after_the_feed_is_made_stops_it_before_it_connects(monkeypatch, handlers_kept):
    events = []

    class Feed:
        def __init__(self, *a, **k):
            os.kill(os.getpid(), signal.SIGTERM)  # while the rings are being made
            self.stopping = False

        def install_signal_handlers(self):
            events.append("handlers")

        def stop(self):
            self.stopping = True

        def run(self):
            events.append(("run", self.stopping))

        def close(self):
            events.append("close")

    monkeypatch.setattr("feeds.loop.Feed", Feed)
    args = build_parser("feed").parse_args(["feed", "binance", "--symbols", "BTCUSDT", "--url", "ws://127.0.0.1:9/ws",
                                            "--group", "stopstart"])
    assert args.run(args) == 0
    assert events == ["handlers", ("run", True), "close"]  # run() sees the stop at once; the rings are closed


def test_a_sigterm_while_the_aggregator_starts_ends_it_with_0_before_it_makes_anything(monkeypatch, handlers_kept):
    from aggregator import aggregate_command

    made = []
    monkeypatch.setattr(aggregate_command, "set_nice", lambda _nice: os.kill(os.getpid(), signal.SIGTERM))
    monkeypatch.setattr("aggregator.main.Aggregator", lambda *a, **k: made.append(a))
    args = build_parser("aggregate").parse_args(["aggregate", "--group", "stopstart"])
    assert args.run(args) == 0
    assert made == []
