"""The shared WebSocket frame codec (feeds/wsframe.py) against RFC 6455's own bytes, without sockets."""
from __future__ import annotations

import os

import pytest

from feeds.wsframe import (BINARY, CLOSE, CONTINUATION, NUMPY_UNMASK_BYTES, PING, PONG, TEXT, FrameDecoder,
                           ProtocolError, close_code_and_reason, close_payload, encode, frame_sizes, header, skip_frames,
                           unmask)

KEY = bytes((0x37, 0xFA, 0x21, 0x3D))  # the masking key of RFC 6455's examples

# RFC 6455 section 5.7, byte for byte
HELLO = bytes((0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F))
HELLO_MASKED = bytes((0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58))
HEL = bytes((0x01, 0x03, 0x48, 0x65, 0x6C))  # first fragment: FIN clear, text
LO = bytes((0x80, 0x02, 0x6C, 0x6F))  # last fragment: FIN set, continuation
PING_HELLO = bytes((0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F))
PONG_HELLO_MASKED = bytes((0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58))
BINARY_256 = bytes((0x82, 0x7E, 0x01, 0x00)) + bytes(range(256))
BINARY_64K = bytes((0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0)) + bytes(65536)

RFC_FRAMES = [HELLO, HELLO_MASKED, HEL, LO, PING_HELLO, PONG_HELLO_MASKED, BINARY_256, BINARY_64K]
RFC_HEADER_BYTES = [2, 6, 2, 2, 2, 6, 4, 10]
RFC_STREAM = b"".join(RFC_FRAMES)
RFC_MESSAGES = [(TEXT, b"Hello"), (TEXT, b"Hello"), (TEXT, b"Hello"), (PING, b"Hello"), (PONG, b"Hello"),
                (BINARY, bytes(range(256))), (BINARY, bytes(65536))]


def xor_by_byte(mask: bytes, payload: bytes) -> bytes:
    """RFC 6455 section 5.3, literally: octet i XOR key octet i mod 4."""
    return bytes(octet ^ mask[index % 4] for index, octet in enumerate(payload))


def test_encode_writes_the_rfc_examples():
    assert encode(b"Hello") == HELLO
    assert encode(b"Hello", mask=KEY) == HELLO_MASKED
    assert encode(b"Hel", fin=False) == HEL
    assert encode(b"lo", CONTINUATION) == LO
    assert encode(b"Hello", PING) == PING_HELLO
    assert encode(b"Hello", PONG, mask=KEY) == PONG_HELLO_MASKED
    assert encode(bytes(range(256)), BINARY) == BINARY_256
    assert encode(bytes(65536), BINARY) == BINARY_64K


def test_decoder_reads_the_rfc_examples_in_one_read():
    assert FrameDecoder(require_mask=False).feed(RFC_STREAM) == RFC_MESSAGES


def test_decoder_reads_the_rfc_examples_fed_byte_by_byte():
    decoder = FrameDecoder(require_mask=False)
    messages = []
    for index in range(len(RFC_STREAM)):
        messages += decoder.feed(RFC_STREAM[index:index + 1])
    assert messages == RFC_MESSAGES
    assert not decoder.buffer


def test_skip_frames_counts_whole_headers_wherever_the_read_ends():
    starts = [sum(map(len, RFC_FRAMES[:index])) for index in range(len(RFC_FRAMES) + 1)]
    for end in range(len(RFC_STREAM) + 1):
        whole = sum(start + size <= end for start, size in zip(starts, RFC_HEADER_BYTES))
        assert skip_frames(RFC_STREAM, 0, end) == (whole, starts[whole])  # next: a cut header or past ``end``
    assert skip_frames(RFC_STREAM, starts[2], len(RFC_STREAM)) == (6, len(RFC_STREAM))


@pytest.mark.parametrize("length, size", [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (1 << 32, 10)])
def test_header_length_forms(length, size):
    head = header(TEXT, length)
    assert len(head) == size and head[0] == 0x81 and not head[1] & 0x80
    assert frame_sizes(head, 0, size) == (size, length)
    masked = header(TEXT, length, masked=True)
    assert masked[1] & 0x80 and masked[2:] == head[2:]
    assert frame_sizes(masked + KEY, 0, size + 4) == (size + 4, length)


@pytest.mark.parametrize("head", [HELLO[:2], HELLO_MASKED[:6], BINARY_256[:4], BINARY_64K[:10]])
def test_frame_sizes_waits_for_the_whole_header(head):
    stream = b"\x00\x00\x00" + head  # the frame starts at offset 3
    for end in range(3, len(stream)):
        assert frame_sizes(stream, 3, end) == (0, 0)
    assert frame_sizes(stream, 3, len(stream))[0] == len(head)


@pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 7, 8, 9, 125, NUMPY_UNMASK_BYTES - 1, NUMPY_UNMASK_BYTES,
                                    NUMPY_UNMASK_BYTES + 3, 65536 + 5])
def test_unmask_matches_the_rfc_definition_on_both_sides_of_the_numpy_threshold(length):
    payload = os.urandom(length)
    expected = xor_by_byte(KEY, payload)
    assert unmask(KEY, payload) == expected
    assert unmask(bytearray(KEY), memoryview(bytearray(payload))) == expected  # what the readers pass
    assert unmask(KEY, expected) == payload


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70001])
@pytest.mark.parametrize("mask", [None, KEY])
def test_round_trip(opcode, length, mask):
    payload = os.urandom(length)
    frame = encode(payload, opcode, mask=mask)
    assert FrameDecoder(require_mask=False).feed(frame) == [(opcode, payload)]
    split = len(frame) // 2  # a frame across two reads
    decoder = FrameDecoder(require_mask=mask is not None)
    assert decoder.feed(frame[:split]) == []
    assert decoder.feed(frame[split:]) == [(opcode, payload)]


def test_fragments_with_ping_and_close_in_between():
    stream = (encode(b'{"op":', fin=False, mask=KEY) + encode(b"", PING, mask=KEY)
              + encode(b'"subscribe"', CONTINUATION, fin=False, mask=KEY)
              + encode(close_payload(1001, "going away"), CLOSE, mask=KEY)
              + encode(b"}", CONTINUATION, mask=KEY) + encode(b"next", mask=KEY))
    decoder = FrameDecoder()
    messages = []
    for index in range(0, len(stream), 3):  # headers and payloads cut everywhere
        messages += decoder.feed(stream[index:index + 3])
    assert messages == [(PING, b""), (CLOSE, b"\x03\xe9going away"), (TEXT, b'{"op":"subscribe"}'), (TEXT, b"next")]
    assert close_code_and_reason(messages[1][1]) == (1001, "going away")


def test_close_payload_round_trip():
    assert close_payload(1000, "bye") == b"\x03\xe8bye"
    assert close_code_and_reason(close_payload(1000, "bye")) == (1000, "bye")
    assert close_payload(None) == b"" and close_code_and_reason(b"") == (None, "")
    assert len(close_payload(1000, "x" * 200)) == 125  # a control frame's limit


def test_fragmented_binary_message_is_reassembled_with_its_opcode():
    stream = encode(b"\x00\x01", BINARY, fin=False, mask=KEY) + encode(b"\x02", CONTINUATION, mask=KEY)
    assert FrameDecoder().feed(stream) == [(BINARY, b"\x00\x01\x02")]


@pytest.mark.parametrize("stream, code", [
    (HELLO, 1002),  # a server-side decoder takes masked client frames only
    (bytes((0xC1, 0x81)) + KEY + b"x", 1002),  # RSV1 without an extension
    (encode(b"x", 0x3, mask=KEY), 1002),  # reserved opcode
    (encode(b"x", CONTINUATION, mask=KEY), 1002),  # continuation without a first fragment
    (encode(b"a", fin=False, mask=KEY) + encode(b"b", mask=KEY), 1002),  # new message inside a fragmented one
    (encode(b"", PING, fin=False, mask=KEY), 1002),  # fragmented control frame
    (encode(b"x" * 126, CLOSE, mask=KEY), 1002),  # control frame over 125 bytes
    (encode(b"x" * 201, mask=KEY), 1009),  # one frame over max_message
    (encode(b"x" * 101, fin=False, mask=KEY) + encode(b"x" * 100, CONTINUATION, mask=KEY), 1009),  # in fragments
])
def test_protocol_errors_carry_their_close_code(stream, code):
    with pytest.raises(ProtocolError) as error:
        FrameDecoder(max_message=200).feed(stream)
    assert error.value.code == code
