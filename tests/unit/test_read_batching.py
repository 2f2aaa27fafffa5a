"""Read batching (feeds/batching.py): when the feed waits before a read, and how what it then reads is stamped.

The policy from frame rates alone; then a Session reading a socket pair into a
real ring: a read after a wait takes the wait's start as every tick's receive
time and does not block when nothing came (the socket's own timeout is a
minute, so a blocking read would outlive the generous join below).
"""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import orjson
import pytest

from feeds import wsconn
from feeds.batching import MAX_FRAMES_PER_WAIT, MIN_FRAMES_PER_WAIT, ReadBatching
from feeds.metrics import FeedMetrics
from feeds.plausible import Limits
from feeds.session import Session
from feeds.ticks import TickWriter
from feeds.venues import venue
from feeds.wsframe import encode
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory


@pytest.mark.parametrize("frames_per_s, active", [
    (0, False), (1_000, False),  # a 1 ms wait would gather under two frames: no wait
    (MIN_FRAMES_PER_WAIT * 1000 + 500, True), (8_000, True), (MAX_FRAMES_PER_WAIT * 1000 - 1000, True),
    (MAX_FRAMES_PER_WAIT * 1000 + 1000, False),  # reads gather plenty on their own
])
def test_waits_only_while_traffic_is_light(frames_per_s, active) -> None:
    batching, off = ReadBatching(0.001), ReadBatching(0.0)
    for policy in (batching, off):
        policy.update(0, 10.0)
        policy.update(int(frames_per_s / 2), 10.5)  # half a second at that rate
    assert batching.active is active
    assert off.active is False


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
