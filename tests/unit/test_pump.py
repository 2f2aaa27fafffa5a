"""The compiled read loop (feeds/_pump.c, feeds/pumped.py) gives what the Python reader gives.

The feed loop itself (``Feed._serve``) reads a socket pair twice over the same wire bytes, once through the
compiled loop and once with it turned off (``PumpedReads.for_session`` says None): usual frames of each compiled
venue mixed with what the loop must leave to Python (pings, binary, fragmented, masked and oversized frames,
acknowledgements, mutated frames, other symbols, repeats and gaps), sent in pieces cut at random bytes (headers
split across reads), with and without the batching wait. The tick records (every field but the receive time;
tick numbers from each run's start), the counters (all but the per-read ones) and the gap events must be equal,
and the compiled loop must have read most frames itself. Then a small ring in phases: its wrap, its drops when
full, and a sleeping consumer's doorbell, byte for byte the Python pusher's.

``make test`` sets TICKAGG_REQUIRE_COMPILED=1: there the loop must have been built.
"""
from __future__ import annotations

import os
import random
import socket
import threading
import time

import numpy as np
import orjson
import pytest
from feed_helpers import wait_until
from fuzz import Mutator, good_frames

from feeds import wsconn
from feeds.compiled import pump
from feeds.loop import Feed
from feeds.plausible import Limits
from feeds.pumped import PumpedReads
from feeds.session import Disconnect, Session
from feeds.venues import venue
from feeds.wsframe import BINARY, CONTINUATION, PING, TEXT, encode
from shm import header as H
from shm.records import TICK
from shm import segment
from shm.names import group_segments
from shm.ring import CONSUMER, Ring, ring_name
from shm.ring_sizing import tick_ring

if pump is None:
    if os.environ.get("TICKAGG_REQUIRE_COMPILED") == "1":
        raise RuntimeError("feeds/_pump.c was not built: `pip install -e .` needs a C compiler and the Python headers")
    pytest.skip("the compiled read loop is not built (pure-Python reads only)", allow_module_level=True)

VENUES = ["binance", "okx", "bybit", "coinbase", "kraken", "bitstamp", "gemini", "bitmex", "deribit", "bitfinex"]
PER_READ = ("reads", "batch_waits", "last_frame_ns", "connected", "connections", "pings_sent")


class _FakeWebSocket:
    """websocket-client's connection as the Connection uses it: the socket, and sends that go nowhere."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sent: list = []

    def send(self, payload) -> None:
        self.sent.append(payload)

    def pong(self, payload) -> None:
        self.sent.append(("pong", payload))

    def ping(self, payload=b"") -> None:
        self.sent.append(("ping", payload))

    def close(self, **_options) -> None:
        pass

    def shutdown(self) -> None:
        pass


def _wire(name: str, seed: int) -> tuple[bytes, bytes]:
    """Usual frames of ``name`` with everything the compiled loop leaves to Python mixed in (the first 200), then
    only repeats and gaps (the reads the loop takes, with frames the staging hands back): the two as wire bytes."""
    rng = random.Random(seed)
    setup, frames, symbol, _ = good_frames(name, 400)  # setup: Bitfinex's channel
    mutator = Mutator(seed)
    other = good_frames("okx" if name == "binance" else "binance", 5)[1]
    out: list[bytes] = [encode(frame.encode()) for frame in setup]
    parts = []
    for index, frame in enumerate(frames):
        if index == 200:
            parts.append(b"".join(out))
            out = []
        roll = rng.random() if index < 200 else 1.0 - rng.random() * 0.03  # then only repeats and gaps
        if index % 37 == 5:
            continue  # a gap (venues with sequence numbers flag it)
        out.append(encode(frame))
        if roll < 0.03 or roll > 0.99:
            out.append(encode(frame))  # a repeat
        elif roll < 0.06:
            out.append(encode(b"ping", PING))
        elif roll < 0.08:
            out.append(encode(b"\x00\x01", BINARY))
        elif roll < 0.10:
            half = len(frame) // 2
            out.append(encode(frame[:half], TEXT, fin=False) + encode(frame[half:], CONTINUATION))
        elif roll < 0.12:
            out.append(encode(frame, mask=b"\x01\x02\x03\x04"))
        elif roll < 0.18:
            out.append(encode(mutator.mutate(frame)))
        elif roll < 0.20:
            out.append(encode(orjson.dumps({"event": "subscribe", "id": index})))
        elif roll < 0.22:
            out.append(encode(rng.choice(other)))  # not subscribed
        elif roll < 0.23:
            out.append(encode(b"x" * (wsconn.BUFFER_BYTES // 2 + 10)))  # over the frame size limit
    return parts[0], b"".join(out)


class _Run:
    """A feed loop over a socket pair, in a thread, through the compiled loop or not (``pumped``)."""

    def __init__(self, group: str, name: str, pumped: bool, monkeypatch, symbols: list[str] | None = None,
                 **options):
        module = venue(name)
        self.symbol = good_frames(name, 1)[2]
        symbols = symbols or [self.symbol]
        self.ours, self.server = socket.socketpair()
        fake = _FakeWebSocket(self.ours)
        monkeypatch.setattr(wsconn.websocket, "create_connection", lambda url, **kw: fake)
        self.feed = feed = Feed(module, symbols, url="ws://test", group=group, limits=Limits(), **options)
        self.used: list = []
        real = _REAL_FOR_SESSION

        def for_session(session):
            reads = real(session) if pumped else None
            self.used.append(reads)
            return reads

        monkeypatch.setattr(PumpedReads, "for_session", staticmethod(for_session))
        connection = wsconn.Connection("ws://test")
        connection.settimeout(0.25)
        self.session = Session(module, "ws://test", symbols, feed.writer, feed.metrics, feed.events,
                               feed.warnings, 60.0, False, connection=connection, stamp=feed.batching.stamp)
        self.start_seq = feed.writer._seq
        self.consumer = Ring(ring_name(group, tick_ring(name)), CONSUMER, TICK, numba=False)
        self.serving = threading.Thread(target=self._serve, daemon=True)
        self.serving.start()

    def _serve(self) -> None:
        try:
            self.feed._serve(self.session)
        except Disconnect:  # ``halt`` closed the venue's end: the loop ends at once
            pass

    def halt(self) -> None:
        """Stop the loop now: the stop flag, then EOF ends its wait (an idle read waits up to 5 s)."""
        self.feed.stop()
        self.server.close()
        self.serving.join(10.0)

    def send(self, wire: bytes, rng: random.Random, steps=(1, 2, 3, 7, 60, 200, 1000, 5000, 40000),
             pauses: float = 0.05) -> None:
        """``wire`` in pieces of random sizes, a pause after a share ``pauses`` of them; returns once the feed
        has read it all."""
        before = self.feed.metrics.values["bytes"]
        at = 0
        while at < len(wire):
            step = rng.choice(steps)
            self.server.sendall(wire[at:at + step])
            at += step
            if rng.random() < pauses:
                time.sleep(0.001)
        wait_until(lambda: self.feed.metrics.values["bytes"] == before + len(wire), 60.0, "every byte read")

    def reads_in_c(self) -> int:
        return sum(reads.reads_in_c for reads in self.used if reads is not None)

    def stop(self) -> None:
        self.halt()
        assert not self.serving.is_alive()
        self.consumer.close()
        self.feed.close()
        self.ours.close()


_REAL_FOR_SESSION = PumpedReads.for_session


def _serve(group: str, name: str, wire: tuple[bytes, bytes], pumped: bool, batch_wait_us: float, monkeypatch,
           seed: int):
    """The feed loop over ``wire``'s two parts sent in random pieces (the second slowly: reads of a frame or a
    few): (records, counters, reads the compiled loop handled)."""
    run = _Run(group, name, pumped, monkeypatch, batch_wait_us=batch_wait_us)
    rng = random.Random(seed)
    try:
        run.send(wire[0], rng)
        run.send(wire[1], rng, (30, 100, 300), pauses=0.5)
        time.sleep(0.05)
    finally:
        run.halt()
    out = np.zeros(1 << 15, TICK)
    try:
        count = run.consumer.pop_batch(out)
        run.consumer.commit()
        run.stop()
    finally:
        for segment_name in group_segments(group):
            segment.remove(segment_name)
    records = out[:count].copy()
    records["seq"] -= run.start_seq
    values = {key: value for key, value in run.feed.metrics.values.items() if key not in PER_READ}
    return records, values, run.reads_in_c()


@pytest.mark.parametrize("name", VENUES)
@pytest.mark.parametrize("batch_wait_us", [0.0, 1000.0])
def test_the_compiled_loop_writes_what_the_python_reader_writes(name, batch_wait_us, group, monkeypatch) -> None:
    wire = _wire(name, seed=VENUES.index(name))
    python, python_values, none = _serve(f"{group}p", name, wire, False, batch_wait_us, monkeypatch, seed=1)
    compiled, compiled_values, reads_in_c = _serve(f"{group}c", name, wire, True, batch_wait_us, monkeypatch, seed=2)
    assert none == 0 and reads_in_c > 10  # the compiled loop read (most reads hold only usual frames)
    assert len(python) > 300 and python_values["errors"] > 0 and python_values["duplicates"] >= 0
    fields = [field for field in TICK.names if field != "ts_recv_ns"]
    assert len(compiled) == len(python)
    for field in fields:
        assert compiled[field].tolist() == python[field].tolist(), field
    assert compiled_values == python_values


@pytest.mark.parametrize("name", ["binance", "bybit"])  # Bybit: no sequence numbers to hide a symbol mixed up
def test_several_symbols_on_one_connection(name, group, monkeypatch) -> None:
    """Three symbols' frames interleaved on one connection (the loop's symbol lookup keeps each its own), with
    repeats and gaps: the ticks and counters of the Python reader."""
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    queues = [[frame.replace(b"BTCUSDT", symbol.encode()).replace(b"btcusdt", symbol.lower().encode())
               for frame in good_frames(name, 150)[1]] for symbol in symbols]  # each its own trade ids
    rng = random.Random(9)
    wire = []
    while any(queues):
        queue = rng.choice([queue for queue in queues if queue])
        frame = queue.pop(0)
        roll = rng.random()
        if roll < 0.02:
            continue  # a gap
        wire += [encode(frame)] * (2 if roll > 0.97 else 1)  # now and then a repeat
    wire = (b"", b"".join(wire))
    outcomes = []
    for pumped, suffix in ((False, "p"), (True, "c")):
        run = _Run(f"{group}{suffix}", name, pumped, monkeypatch, symbols=symbols, batch_wait_us=0)
        out = np.zeros(4096, TICK)
        try:
            run.send(wire[1], random.Random(4), (30, 100, 300, 3000), pauses=0.3)
            run.halt()
            count = run.consumer.pop_batch(out)
            run.consumer.commit()
            run.stop()
        finally:
            for segment_name in group_segments(f"{group}{suffix}"):
                segment.remove(segment_name)
        values = {key: value for key, value in run.feed.metrics.values.items() if key not in PER_READ}
        outcomes.append((out[:count].copy(), values, run.reads_in_c()))
    (python, python_values, none), (compiled, compiled_values, reads_in_c) = outcomes
    assert none == 0 and reads_in_c > 10 and len(set(python["symbol_id"].tolist())) == 3
    assert compiled_values == python_values and python_values["ticks"] > 400
    assert name != "binance" or (python_values["gaps"] > 0 and python_values["duplicates"] > 0)
    for field in TICK.names:
        if field != "ts_recv_ns":
            assert compiled[field].tolist() == python[field].tolist(), field


def test_ring_wrap_drops_and_doorbell_as_the_python_pusher(group, monkeypatch) -> None:
    """A 64-slot ring: 40 ticks, drained; 40 more (they wrap), not drained; a consumer asleep, 40 more (24 fit,
    16 dropped). Records, head, drop counts and the bell: the same with and without the compiled loop."""
    _, frames, _, _ = good_frames("binance", 120)
    outcomes = []
    for pumped, suffix in ((False, "p"), (True, "c")):
        outcomes.append(_phased(f"{group}{suffix}", frames, pumped, monkeypatch))
    (python, python_words, none), (compiled, compiled_words, reads_in_c) = outcomes
    assert none == 0 and reads_in_c > 3
    assert python_words == compiled_words
    assert python_words["dropped"] == python_words["ring_dropped"] == 16 and python_words["head"] == 104
    assert python_words["rang"]
    for field in TICK.names:
        if field != "ts_recv_ns":
            assert compiled[field].tolist() == python[field].tolist(), field


def _phased(group: str, frames: list[bytes], pumped: bool, monkeypatch):
    run = _Run(group, "binance", pumped, monkeypatch, batch_wait_us=0, ring_capacity=64)
    words = run.consumer._header_words()
    kept = []
    out = np.zeros(256, TICK)
    rng = random.Random(3)
    try:
        bell = int(words[H.W_BELL])
        for phase in range(3):
            if phase == 2:
                words[H.W_ASLEEP] = 1  # a consumer asleep: pushes ring the bell
            run.send(b"".join(encode(frame) for frame in frames[phase * 40:(phase + 1) * 40]), rng, (97, 300, 2000))
            wait_until(lambda: int(words[H.W_HEAD]) + int(words[H.W_DROPPED]) == (phase + 1) * 40, 30.0, "pushed")
            if phase == 0:
                count = run.consumer.pop_batch(out)
                kept.append(out[:count].copy())
                run.consumer.commit()
        count = run.consumer.pop_batch(out)
        kept.append(out[:count].copy())
        words[H.W_ASLEEP] = 0
        outcome = {"head": int(words[H.W_HEAD]), "dropped": int(words[H.W_DROPPED]),
                   "rang": int(words[H.W_BELL]) != bell, "ring_dropped": run.feed.metrics.values["ring_dropped"]}
        reads_in_c = run.reads_in_c()
    finally:
        run.stop()
        for name in group_segments(group):
            segment.remove(name)
    return np.concatenate(kept), outcome, reads_in_c


@pytest.mark.parametrize("batch_wait_us", [0, 1000])
def test_several_connections_read_in_c_as_in_python(batch_wait_us, group, monkeypatch) -> None:
    """A feed of three symbols, one a connection (feeds/connections.py's loop): each connection's wire (usual
    frames, pings, bad frames, repeats, gaps) read through the compiled loop and without it gives each symbol
    the same ticks (every field but the receive time and the feed-wide tick number) and the same counters.
    With the batching wait on throughout (the rate policy pinned), the compiled loop waits in C after its rounds
    that read (``serve``'s own waits: the feed's count less the waits Python made when ``serve`` returned), as the
    Python loop waits after its reads."""
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    base = _wire("binance", seed=11)
    wires = [tuple(part.replace(b"BTCUSDT", symbol.encode()).replace(b"btcusdt", symbol.lower().encode())
                   for part in base) for symbol in symbols]
    outcomes = [_serve_connections(f"{group}{suffix}", symbols, wires, pumped, batch_wait_us, monkeypatch)
                for pumped, suffix in ((False, "p"), (True, "c"))]
    (python, python_values, none, _), (compiled, compiled_values, reads_in_c, waits_in_c) = outcomes
    assert none == 0 and reads_in_c > 20
    assert compiled_values == python_values and python_values["errors"] > 0
    if batch_wait_us:
        assert waits_in_c >= reads_in_c / 3  # a round reads one to three connections
    else:
        assert waits_in_c == 0
    for records in (python, compiled):  # the feed's tick numbers: one sequence over all its connections
        assert records["seq"].tolist() == list(range(int(records["seq"][0]), int(records["seq"][0]) + len(records)))
    for symbol_id in set(python["symbol_id"].tolist()):
        want, got = python[python["symbol_id"] == symbol_id], compiled[compiled["symbol_id"] == symbol_id]
        assert len(want) > 300 and len(got) == len(want)
        for field in TICK.names:
            if field not in ("ts_recv_ns", "seq"):
                assert got[field].tolist() == want[field].tolist(), field


def _serve_connections(group: str, symbols: list[str], wires: list, pumped: bool, batch_wait_us: float, monkeypatch):
    from feeds.connections import ConnectionSet

    pairs = [socket.socketpair() for _ in symbols]
    fakes = iter([_FakeWebSocket(ours) for ours, _ in pairs])
    monkeypatch.setattr(wsconn.websocket, "create_connection", lambda url, **kw: next(fakes))
    used: list = []

    def for_session(session):
        reads = _REAL_FOR_SESSION(session) if pumped else None
        used.append(reads)
        return reads

    monkeypatch.setattr(PumpedReads, "for_session", staticmethod(for_session))
    feed = Feed(venue("binance"), symbols, url="ws://test", group=group, limits=Limits(), batch_wait_us=batch_wait_us,
                per_connection=1)
    assert len(feed.links) == 3
    waits_in_python = []
    if batch_wait_us:
        monkeypatch.setattr(feed.batching, "update", lambda *counts: setattr(feed.batching, "active", True))
        wait = feed.batching.wait
        monkeypatch.setattr(feed.batching, "wait", lambda: (waits_in_python.append(1), wait()))
    connections = ConnectionSet(feed)
    serving = threading.Thread(target=connections.run, daemon=True)
    consumer = Ring(ring_name(group, tick_ring("binance")), CONSUMER, TICK, numba=False)
    rng = random.Random(5)
    try:
        serving.start()
        wait_until(lambda: feed.metrics.values["connections"] == 3, 30.0, "three connections")
        order = {link.index: link for link in feed.links}
        for part in (0, 1):
            total = feed.metrics.values["bytes"] + sum(len(wire[part]) for wire in wires)
            for index, (_, server) in enumerate(pairs):  # link i took the i-th socket pair: symbol i
                assert order[index].symbols == [symbols[index]]
                wire = wires[index][part]
                for at in range(0, len(wire), 3000 if part == 0 else 200):
                    server.sendall(wire[at:at + (3000 if part == 0 else 200)])
                    if part == 1 and rng.random() < 0.3:
                        time.sleep(0.001)
            wait_until(lambda: feed.metrics.values["bytes"] == total, 60.0, "every byte read")
        time.sleep(0.05)
    finally:
        feed.stop()
        for _, server in pairs:
            server.close()  # EOF ends the loop's wait at once
        serving.join(10.0)
    out = np.zeros(1 << 15, TICK)
    try:
        assert not serving.is_alive()
        count = consumer.pop_batch(out)
        consumer.commit()
        consumer.close()
        feed.close()
    finally:
        for ours, _ in pairs:
            ours.close()
        for segment_name in group_segments(group):
            segment.remove(segment_name)
    values = {key: value for key, value in feed.metrics.values.items() if key not in PER_READ}
    return (out[:count].copy(), values, sum(reads.reads_in_c for reads in used if reads is not None),
            feed.metrics.values["batch_waits"] - len(waits_in_python))
