"""Read batching (feeds/batching.py): when the feed waits before a read, and how what it then reads is stamped.

The policy from frame and read rates alone; then a Session reading a socket
pair into a real ring: a read after a wait takes the wait's start as every
tick's receive time and does not block when nothing came (the socket's own
timeout is a minute, so a blocking read would outlive the generous join
below); then the feed loop itself with waits pinned on.
"""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import orjson
import pytest

from feeds import wsconn
from feeds.batching import ENV, MAX_FRAMES_PER_WAIT, MIN_FRAMES_PER_WAIT, ReadBatching
from feeds.feed_command import default_wait_us
from feeds.metrics import FeedMetrics
from feeds.plausible import Limits
from feeds.session import Session
from feeds.ticks import TickWriter
from feeds.venues import venue
from feeds.wsframe import encode
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory


@pytest.mark.parametrize("frames_per_s, reads_per_s, active", [
    (0, 0, False), (1_000, 1_000, False),  # a 1 ms wait would gather under two frames: no wait
    (MIN_FRAMES_PER_WAIT * 1000 + 500, 2_500, True), (8_000, 8_000, True),
    (8_000, 700, False), (8_000, 1_500, False),  # bursts read one per wakeup: waits would not halve the wakeups
    (MAX_FRAMES_PER_WAIT * 1000 - 1000, 20_000, True),
    (MAX_FRAMES_PER_WAIT * 1000 + 1000, 20_000, False),  # reads gather plenty on their own
])
def test_waits_only_while_traffic_is_light(frames_per_s, reads_per_s, active) -> None:
    batching, off = ReadBatching(0.001), ReadBatching(0.0)
    for policy in (batching, off):
        policy.update(0, 0, 10.0)
        policy.update(int(frames_per_s / 2), int(reads_per_s / 2), 10.5)  # half a second at those rates
    assert batching.active is active
    assert off.active is False


@pytest.mark.parametrize("frames_per_s, active", [(800, False), (1_500, True)])
def test_a_longer_wait_starts_where_it_halves_its_own_reads(frames_per_s, active, monkeypatch) -> None:
    """A 2 ms wait (from the environment: up to ``MAX_WAIT_US``) is taken from 1,000 frames/s read over 1,000
    times a second (two frames a wait, half the reads); at 800 a second, under two frames a wait, it is not."""
    monkeypatch.setenv(ENV, "2000")
    batching = ReadBatching(default_wait_us() / 1e6)
    batching.update(0, 0, 10.0)
    batching.update(frames_per_s // 2, frames_per_s // 2, 10.5)
    assert batching.wait_s == 0.002 and batching.active is active


@pytest.mark.parametrize("text", ["5001", "-1", "nan"])
def test_a_wait_out_of_range_from_the_environment_is_refused_with_its_name(text, monkeypatch) -> None:
    from tickagg.config import ConfigError

    monkeypatch.setenv(ENV, text)
    with pytest.raises(ConfigError, match=f"environment {ENV}: feeds.batch_wait_us: '{text}' (must be|is not)"):
        default_wait_us()


def test_waiting_reads_without_waits_now_and_then_and_stops_when_bursts_make_it_pointless() -> None:
    batching = ReadBatching(0.001)
    frames = reads = 0
    now = 10.0
    batching.update(frames, reads, now)
    seen = []
    for step in range(80):  # 50 ms rounds: 8,000 frames/s; one read per frame unless waiting (one per 8)
        reads += 400 if not batching.active else 50
        if step >= 40:  # then bursts: one read per 16 frames, waiting or not
            reads -= 400 - 25 if not batching.active else 50 - 25
        frames += 400
        now += 0.05
        batching.update(frames, reads, now)
        seen.append(batching.active)
    assert seen[0] and not all(seen[:40]) and sum(seen[:40]) >= 35  # waits, with a probe round about every second
    assert not any(seen[62:])  # bursts read one per wakeup: the next probe (within a second) found waits pointless


class _FakeWebSocket:
    def __init__(self, sock: socket.socket):
        self.sock = sock


class _Quiet:
    def warning(self, *args) -> None:
        pass

    def emit(self, *args, **kwargs) -> None:
        pass


def _frame(trade_id: int) -> bytes:
    now_ms = time.time_ns() // 1_000_000
    return encode(orjson.dumps({"e": "trade", "E": now_ms, "s": "BTCUSDT", "t": trade_id, "p": "100.5", "q": "0.25",
                                "T": now_ms, "m": False, "M": True}))


def test_a_read_after_a_wait_is_stamped_with_its_start_and_does_not_block(group, monkeypatch) -> None:
    ours, server = socket.socketpair()
    monkeypatch.setattr(wsconn.websocket, "create_connection", lambda url, **options: _FakeWebSocket(ours))
    connection = wsconn.Connection("ws://test")
    connection.settimeout(60.0)
    module = venue("binance")
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, 1 << 12, numba=False)
    writer = TickWriter("binance", ring, SymbolDirectory(group), FeedMetrics(), ["BTCUSDT"], seq_is_trade_id=True,
                        limits=Limits())
    batching = ReadBatching(0.001)
    session = Session(module, "ws://test", ["BTCUSDT"], writer, writer.metrics, _Quiet(), _Quiet(), 60.0, False,
                      connection=connection, stamp=batching.stamp)
    consumer = Ring(ring_name(group, "binance"), CONSUMER, TICK, numba=False)
    out = np.zeros(64, TICK)
    try:
        server.sendall(_frame(1))
        assert session.read()  # no wait before it: its own time
        writer.flush()
        batching.wait()
        waited_from = batching.stamp[0]
        server.sendall(_frame(2) + _frame(3))  # "arrived during the wait"
        assert session.read(waited=True)
        writer.flush()
        batching.stamp[0] = 0  # as the feed loop does after the read that follows a wait
        count = consumer.pop_batch(out)
        consumer.commit()
        assert count == 3 and out["trade_id"][:3].tolist() == [1, 2, 3]
        assert out["ts_recv_ns"][0] < waited_from  # read before the wait began
        assert out["ts_recv_ns"][1:3].tolist() == [waited_from, waited_from]

        batching.wait()  # nothing comes during this one
        results = []
        reader = threading.Thread(target=lambda: results.append(session.read(waited=True)), daemon=True)
        reader.start()
        reader.join(30.0)
        assert not reader.is_alive() and results == [0]  # returned at once, not after the 60 s socket timeout
        batching.stamp[0] = 0
        server.sendall(_frame(4))
        assert session.read()  # a blocking read again, stamped with its own time
        writer.flush()
        assert consumer.pop_batch(out) == 1 and out["trade_id"][0] == 4
        assert out["ts_recv_ns"][0] > batching.stamp[0] and out["ts_recv_ns"][0] > waited_from
        consumer.commit()
    finally:
        consumer.close()
        ring.close()
        ours.close()
        server.close()


def test_the_feed_loop_waits_between_reads_and_loses_nothing(group, monkeypatch) -> None:
    """``Feed._serve`` over a socket pair with waits on throughout (the rate policy pinned): 2,000 frames sent
    as fast as the socket takes them arrive once each, in order, and the loop waited between reads."""
    from feeds.loop import Feed

    ours, server = socket.socketpair()
    monkeypatch.setattr(wsconn.websocket, "create_connection", lambda url, **options: _FakeWebSocket(ours))
    module = venue("binance")
    feed = Feed(module, ["BTCUSDT"], url="ws://test", group=group, limits=Limits(), batch_wait_us=1000)
    monkeypatch.setattr(feed.batching, "update", lambda *counts: setattr(feed.batching, "active", True))
    connection = wsconn.Connection("ws://test")
    connection.settimeout(0.25)
    session = Session(module, "ws://test", ["BTCUSDT"], feed.writer, feed.metrics, feed.events, feed.warnings, 60.0,
                      False, connection=connection, stamp=feed.batching.stamp)
    serving = threading.Thread(target=feed._serve, args=(session,), daemon=True)
    consumer = Ring(ring_name(group, "binance"), CONSUMER, TICK, numba=False)
    out = np.zeros(4096, TICK)
    ids: list[int] = []
    try:
        serving.start()
        for trade_id in range(1, 2001):
            server.sendall(_frame(trade_id))
        deadline = time.monotonic() + 60.0
        while len(ids) < 2000 and time.monotonic() < deadline:
            count = consumer.pop_batch(out)
            ids += out["trade_id"][:count].tolist()
            consumer.commit()
            time.sleep(0.01)
    finally:
        feed.stop()
        serving.join(10.0)
        consumer.close()
        feed.close()
        ours.close()
        server.close()
    assert not serving.is_alive()
    assert ids == list(range(1, 2001))
    assert feed.metrics.values["batch_waits"] > 0
