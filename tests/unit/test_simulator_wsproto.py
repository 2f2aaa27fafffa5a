"""The simulator's WebSocket handshake, frames (feeds/wsframe.py) and output accounting, without sockets."""
from __future__ import annotations

import pytest

from feeds.wsframe import BINARY, CLOSE, PING, TEXT, FrameDecoder, ProtocolError, encode, header, unmask
from simulator.handshake import HandshakeError, accept_key, parse_request
from simulator.outbox import Outbox
from simulator.templates import TEXT_HEADERS


def masked_frame(payload: bytes, opcode: int = TEXT) -> bytes:
    """A client frame, as the simulator's clients send them."""
    return encode(payload, opcode, mask=b"\x37\xfa\x21\x3d")


def test_accept_key_matches_rfc_6455_example():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("length, size", [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_header_length_forms(length, size):
    head = header(TEXT, length)
    assert len(head) == size and head[0] == 0x81
    if length < len(TEXT_HEADERS):
        assert TEXT_HEADERS[length] == head


def test_parse_request_takes_any_path_and_lowercases_headers():
    path, headers = parse_request(b"GET /stream?streams=btcusdt@trade/ethusdt@trade HTTP/1.1\r\nHost: x\r\n"
                                  b"Upgrade: WebSocket\r\nSec-WebSocket-Key: abc==")
    assert path == "/stream?streams=btcusdt@trade/ethusdt@trade"
    assert headers["sec-websocket-key"] == "abc=="
    with pytest.raises(HandshakeError):
        parse_request(b"GET / HTTP/1.1\r\nHost: x")
    with pytest.raises(HandshakeError):
        parse_request(b"POST / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a")


def test_unmask_is_its_own_inverse():
    assert unmask(b"\x01\x02\x03\x04", unmask(b"\x01\x02\x03\x04", b"hello world")) == b"hello world"
    assert unmask(b"abcd", b"") == b""


def test_reader_unmasks_frames_fed_byte_by_byte():
    stream = masked_frame(b'{"op":"ping"}') + masked_frame(b"x" * 300) + masked_frame(b"\x01", PING)
    reader = FrameDecoder()
    messages = []
    for index in range(len(stream)):
        messages += reader.feed(stream[index:index + 1])
    assert messages == [(TEXT, b'{"op":"ping"}'), (TEXT, b"x" * 300), (PING, b"\x01")]


def test_reader_reassembles_fragments_around_a_control_frame():
    first = bytearray(masked_frame(b"hel"))
    first[0] = 0x01  # FIN clear, opcode text
    rest = bytearray(masked_frame(b"lo"))
    rest[0] = 0x80  # FIN set, continuation
    messages = FrameDecoder().feed(bytes(first) + masked_frame(b"", PING) + bytes(rest))
    assert messages == [(PING, b""), (TEXT, b"hello")]


def test_reader_refuses_unmasked_and_oversized_frames():
    with pytest.raises(ProtocolError) as unmasked:
        FrameDecoder().feed(encode(b"hi"))
    assert unmasked.value.code == 1002
    with pytest.raises(ProtocolError) as big:
        FrameDecoder(max_message=10).feed(masked_frame(b"x" * 11))
    assert big.value.code == 1009
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(masked_frame(b"x" * 126, CLOSE))


class TrickleSocket:
    """Accepts at most ``take`` bytes per send, like a full kernel buffer."""

    def __init__(self, take: int):
        self.take, self.data = take, b""

    def send(self, data) -> int:
        taken = bytes(data[:self.take])
        self.data += taken
        if not taken:
            raise BlockingIOError
        return len(taken)


def test_outbox_counts_a_frame_only_when_its_last_byte_is_sent():
    counted = []
    outbox = Outbox()
    frames = [encode(b"a" * 10), encode(b"b" * 20), encode(b"c" * 5)]  # 12, 22, 7 bytes
    chunk = b"".join(frames)
    ends = [12, 34, 41]
    outbox.add(chunk, ends, [1, 3, 2], lambda frames, trades: counted.append((frames, trades)))
    sock = TrickleSocket(11)
    assert not outbox.flush(sock) and counted == []  # 11 of 12 bytes
    assert not outbox.flush(sock) and counted == [(1, 1)]  # 22
    assert not outbox.flush(sock) and counted == [(1, 1)]  # 33: frame 2 lacks one byte
    assert outbox.flush(sock) and counted == [(1, 1), (2, 5)]  # 41: frames 2 and 3
    assert sock.data == chunk and outbox.empty and outbox.pending == 0


def test_outbox_keeps_order_across_runs_and_drops_nothing_uncounted():
    counted = []
    outbox = Outbox()
    outbox.add_frame(encode(b"ack"), lambda f, t: counted.append(("control", f)))
    outbox.add(encode(b"trade1") + encode(b"trade2"), [8, 16], 1, lambda f, t: counted.append(("live", f, t)))
    outbox.add_frame(encode(b"\x00", BINARY), lambda f, t: counted.append(("bad", f)))
    sock = TrickleSocket(1000)
    assert outbox.flush(sock)
    assert counted == [("control", 1), ("live", 2, 2), ("bad", 1)]
    assert sock.data.startswith(encode(b"ack") + encode(b"trade1"))
