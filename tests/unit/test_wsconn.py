"""The feed's frame reader (feeds/wsconn.py) over a socket pair: every frame in wire order, whatever the reads."""
from __future__ import annotations

import socket

import pytest

from feeds import wsconn
from feeds.wsframe import BINARY, CLOSE, CONTINUATION, PING, TEXT, close_payload, encode

KEY = b"\x37\xfa\x21\x3d"


class Recorder:
    """A FrameHandler that writes down what it is handed, texts as one entry per run."""

    def __init__(self):
        self.seen: list[tuple] = []

    def received(self, nbytes: int) -> None:
        pass

    def texts(self, payloads: list) -> None:
        self.seen.append(("texts", [bytes(payload) for payload in payloads]))

    def text(self, payload, nbytes: int = 0) -> None:  # a read of one whole text frame: the same as a run of one
        self.texts([payload])

    def control(self, opcode: int, payload: bytes) -> None:
        self.seen.append(("control", opcode, payload))

    def binary(self, length: int) -> None:
        self.seen.append(("binary", length))

    def oversized(self, length: int) -> None:
        self.seen.append(("oversized", length))


class FakeWebSocket:
    def __init__(self, sock: socket.socket):
        self.sock = sock


@pytest.fixture
def pair(monkeypatch):
    """(a feed Connection reading one end of a socket pair, the other end: the 'server')."""
    ours, server = socket.socketpair()
    monkeypatch.setattr(wsconn.websocket, "create_connection", lambda url, **options: FakeWebSocket(ours))
    connection = wsconn.Connection("ws://test", max_frame_bytes=100_000)
    connection.settimeout(0.5)
    yield connection, server
    ours.close()
    server.close()


def read_all(connection, server, stream: bytes, cut: int) -> list[tuple]:
    """Send ``stream`` in pieces of ``cut`` bytes, reading after each."""
    handler = Recorder()
    for index in range(0, len(stream), cut):
        server.sendall(stream[index:index + cut])
        connection.read(handler)
    return handler.seen


STREAM = (encode(b"a") + encode(b"b" * 300)  # a run of fast-path text frames (7- and 16-bit lengths)
          + encode(b"hel", fin=False) + encode(b"", PING) + encode(b"lo", CONTINUATION)  # a ping between fragments
          + encode(b"masked", mask=KEY)  # servers must not mask; the reader unmasks anyway
          + encode(b"c" * 70_000)  # a 64-bit length
          + encode(b"\x00\x01", BINARY) + encode(b"d" * 100_001) + encode(b"e")
          + encode(close_payload(1000, "bye"), CLOSE))
EXPECTED = [("texts", [b"a", b"b" * 300]), ("control", PING, b""), ("texts", [b"hello"]), ("texts", [b"masked"]),
            ("texts", [b"c" * 70_000]), ("binary", 2), ("oversized", 100_001), ("texts", [b"e"]),
            ("control", CLOSE, b"\x03\xe8bye")]


def test_reader_in_one_piece(pair):
    assert read_all(*pair, STREAM, len(STREAM)) == EXPECTED


@pytest.mark.parametrize("cut", [2, 5, 4096])  # 2 and 5 cut every kind of header
def test_reader_with_headers_cut_by_reads(pair, cut):
    seen = read_all(*pair, STREAM, cut)
    runs = []  # runs of text frames split differently by the reads: compare frame by frame
    for entry in seen:
        runs += [("texts", [text]) for text in entry[1]] if entry[0] == "texts" else [entry]
    assert runs == [("texts", [text]) for text in EXPECTED[0][1]] + EXPECTED[1:]


def test_reader_one_frame_per_read(pair):
    """Light traffic: each read holds one whole frame (the reader's shortcut), and then a frame split in two."""
    connection, server = pair
    handler = Recorder()
    payloads = [b"a", b"b" * 125, b"c" * 126, b"d" * 300, b"e" * 60_000]
    for payload in payloads:
        frame = encode(payload)
        server.sendall(frame)
        while len(handler.seen) < payloads.index(payload) + 1:
            connection.read(handler)
    head, tail = encode(b"split"), encode(b"whole")
    for piece in (head[:3], head[3:] + tail):
        server.sendall(piece)
        connection.read(handler)
    server.sendall(encode(b"bye", PING))
    connection.read(handler)
    assert handler.seen == [("texts", [payload]) for payload in payloads] + [
        ("texts", [b"split", b"whole"]), ("control", PING, b"bye")]


def test_reader_read_timeout_raises(pair):
    """Nothing within the read timeout: an error the session takes for "nothing yet", not a disconnect."""
    connection, _server = pair
    connection.settimeout(0.05)
    with pytest.raises((TimeoutError, BlockingIOError)):
        connection.read(Recorder())
