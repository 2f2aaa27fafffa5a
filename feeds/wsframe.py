"""RFC 6455 frames, both ends: header encode/decode, unmasking, an incremental message decoder.

The feed's reader (feeds/wsconn.py) and the simulator (its server side and its
bench client) share this codec. A frame::

     0               1               2               4 or 10           +4 if M=1
    +-+-+-+-+-------+-+-------------+---------------+-----------------+--------------
    |F|R|R|R| opcode|M| len (7 bit) | extended len  | masking key     | payload ...
    |I|S|S|S| 4 bit |A| 0-125, or   | 16 bit if 126 | (M=1: client    | (M=1: XOR-ed
    |N|V|V|V|       |S| 126 / 127   | 64 bit if 127 |  frames only)   |  with the key
    | |1|2|3|       |K|             | network order |                 |  repeated)
    +-+-+-+-+-------+-+-------------+---------------+-----------------+--------------

A message is one frame with FIN set, or a text/binary frame with FIN clear
followed by continuation frames, the last with FIN set. Control frames (close,
ping, pong) carry at most 125 bytes, are never fragmented, and may come
between the fragments of a message.
"""
from __future__ import annotations

import struct

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL_OPCODES = frozenset((CLOSE, PING, PONG))
MAX_MESSAGE_BYTES = 1 << 20  # FrameDecoder's default: a larger message is refused (1009)
NUMPY_UNMASK_BYTES = 2048  # from this size numpy unmasks faster than the big-integer XOR (measured)

_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")


def header(opcode: int, length: int, fin: bool = True, masked: bool = False) -> bytes:
    """The header of a frame of ``length`` payload bytes, without the masking key."""
    first = 0x80 | opcode if fin else opcode
    mask_bit = 0x80 if masked else 0
    if length < 126:
        return bytes((first, mask_bit | length))
    if length < 65536:
        return struct.pack("!BBH", first, mask_bit | 126, length)
    return struct.pack("!BBQ", first, mask_bit | 127, length)


def encode(payload: bytes, opcode: int = TEXT, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One whole frame; with a 4-byte ``mask`` (a client frame) the payload goes out masked."""
    if mask is None:
        return header(opcode, len(payload), fin) + payload
    return header(opcode, len(payload), fin, masked=True) + mask + unmask(mask, payload)


def frame_sizes(data, start: int, end: int) -> tuple[int, int]:
    """(header bytes with the masking key, payload bytes) of the frame at ``data[start]``,
    or (0, 0) while its header is not all in ``data[start:end]``."""
    available = end - start
    if available < 2:
        return 0, 0
    second = data[start + 1]
    length = second & 0x7F
    key = 4 if second & 0x80 else 0
    if length < 126:
        return (2 + key, length) if available >= 2 + key else (0, 0)
    if length == 126:
        return (4 + key, _U16.unpack_from(data, start + 2)[0]) if available >= 4 + key else (0, 0)
    return (10 + key, _U64.unpack_from(data, start + 2)[0]) if available >= 10 + key else (0, 0)


def skip_frames(data, start: int, end: int) -> tuple[int, int]:
    """Step over the frames from ``data[start]`` without reading them: (frames whose header is
    within ``data[:end]``, where the next frame starts). That start is past ``end`` while a payload
    is still to come, before it when a read cut the next header.

    Unmasked headers with 7- and 16-bit lengths are read inline: a counting client steps over
    frames this way at twice the speed of one ``frame_sizes`` call per frame.
    """
    index, frames = start, 0
    while index < end:
        if index + 4 <= end:
            second = data[index + 1]
            if second < 126:
                index += 2 + second
                frames += 1
                continue
            if second == 126:
                index += 4 + (data[index + 2] << 8 | data[index + 3])
                frames += 1
                continue
        header_bytes, length = frame_sizes(data, index, end)
        if not header_bytes:
            break
        index += header_bytes + length
        frames += 1
    return frames, index


def unmask(mask: bytes, payload) -> bytes:
    """``payload`` XOR-ed with the 4-byte ``mask`` repeated (masking and unmasking are the same).

    Below ``NUMPY_UNMASK_BYTES`` one big-integer XOR (1-2 us for a 125-byte frame,
    numpy's call overhead alone is 5 us); above, numpy over uint64 words (190 us
    for 1 MiB, the big integers take 7.6 ms). numpy is imported on first use: the
    simulator's clients send small frames and servers do not mask, so neither
    process loads it for this.
    """
    length = len(payload)
    if length < NUMPY_UNMASK_BYTES:
        key = (mask * (length // 4 + 1))[:length]
        return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(length, "little")
    import numpy as np

    padded = bytearray(length + 7 & ~7)  # whole uint64 words; the key repeats every 8 bytes too
    padded[:length] = payload
    words = np.frombuffer(padded, np.uint64)
    words ^= np.frombuffer(bytes(mask) * 2, np.uint64)[0]
    return bytes(memoryview(padded)[:length])


def close_payload(code: int | None, reason: str = "") -> bytes:
    """A close frame's payload: the status code (network order) and a UTF-8 reason (123 bytes at most)."""
    if code is None:
        return b""
    return _U16.pack(code) + reason.encode()[:123]


def close_code_and_reason(payload: bytes) -> tuple[int | None, str]:
    """A close frame's status code (None when it has none) and reason."""
    if len(payload) < 2:
        return None, ""
    return _U16.unpack_from(payload)[0], bytes(payload[2:]).decode("utf-8", "replace")


class ProtocolError(ValueError):
    """A frame that breaks RFC 6455; ``code`` is the close status to answer with."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class FrameDecoder:
    """Bytes in, whole messages out: ``feed(data) -> [(opcode, payload)]``, in wire order.

    A frame may arrive in any number of reads, its header too. Fragmented
    messages are reassembled; control frames are returned as they come, also
    between fragments. ``require_mask`` is the server side's rule (client
    frames must be masked); without it masked and unmasked frames are both read.
    """

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES, require_mask: bool = True):
        self.max_message = max_message
        self.require_mask = require_mask
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0
        self.fragment_bytes = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buffer = self.buffer
        buffer += data
        messages: list[tuple[int, bytes]] = []
        start, end = 0, len(buffer)
        try:
            while True:
                size, length = frame_sizes(buffer, start, end)
                if not size:
                    return messages
                first, second = buffer[start], buffer[start + 1]
                if first & 0x70:
                    raise ProtocolError(1002, "reserved bits set (no extension was negotiated)")
                if self.require_mask and not second & 0x80:
                    raise ProtocolError(1002, "client frame not masked")
                if length > self.max_message:
                    raise ProtocolError(1009, "message too big")
                stop = start + size + length
                if stop > end:
                    return messages
                body = buffer[start + size:stop]  # a copy
                payload = unmask(buffer[start + size - 4:start + size], body) if second & 0x80 else bytes(body)
                start = stop
                message = self._message(bool(first & 0x80), first & 0x0F, payload)
                if message is not None:
                    messages.append(message)
        finally:
            del buffer[:start]

    def _message(self, fin: bool, opcode: int, payload: bytes) -> tuple[int, bytes] | None:
        """The message this frame completes (a control frame completes itself), or None."""
        if opcode in CONTROL_OPCODES:
            if not fin or len(payload) > 125:
                raise ProtocolError(1002, "fragmented or oversized control frame")
            return opcode, payload
        if opcode == CONTINUATION:
            if not self.fragments:
                raise ProtocolError(1002, "continuation without a first fragment")
            self._add_fragment(payload)
            if not fin:
                return None
            message = b"".join(self.fragments)
            self.fragments, self.fragment_bytes = [], 0
            return self.fragment_opcode, message
        if opcode in (TEXT, BINARY):
            if self.fragments:
                raise ProtocolError(1002, "new message inside a fragmented one")
            if fin:
                return opcode, payload
            self.fragment_opcode = opcode
            self._add_fragment(payload)
            return None
        raise ProtocolError(1002, f"reserved opcode {opcode:#x}")

    def _add_fragment(self, payload: bytes) -> None:
        self.fragment_bytes += len(payload)
        if self.fragment_bytes > self.max_message:
            raise ProtocolError(1009, "message too big")
        self.fragments.append(payload)
