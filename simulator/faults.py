"""Fault kinds and the malformed frames of the ``malformed`` fault.

| kind        | parameters         | what the client sees                                        |
| ----------- | ------------------ | ----------------------------------------------------------- |
| drop        | [connection]       | every connection (or the n-th open one) ends (TCP FIN, no close frame) |
| stall       | seconds            | nothing at all (no trades, heartbeats or pongs), socket open |
| malformed   | count [, variants] | ``count`` bad frames on each connection, cycling variants    |
| skip        | count [, symbol]   | the next trade id of each symbol (or ``symbol``) jumps by count+1 |
| refuse      | seconds            | new connections are refused (the listening socket is closed) |
| inject      | frames             | these text frames (a list of strings), once on each connection, among the live ones |

Malformed variants, each rejected by the venue's unchanged parser (``FrameError``):
bad JSON, a trade with a NaN price, a trade without its id field, an unknown
message type, an oversized frame (> 1 MiB, unterminated JSON), a binary frame.
"""
from __future__ import annotations

from feeds.wsframe import BINARY, TEXT, encode
from simulator.session import Session

KINDS = ("drop", "stall", "malformed", "skip", "refuse", "inject")
MALFORMED_VARIANTS = ("json", "nan_price", "missing_field", "unknown_message", "oversized", "binary")
OVERSIZED_BYTES = (1 << 20) + 1

_BAD_JSON = b'{"event":"simulated bad json","data":{"price":'
_UNKNOWN = b'{"event":"simulated_unknown","type":"simulated_unknown"}'
_BINARY = b"\x00\x01\x02simulated binary frame\xff\xfe"


def malformed_frame(variant: str, session: Session, values: dict[bytes, object]) -> bytes:
    """One whole WebSocket frame of ``variant`` for ``session``'s connection.

    Trade-shaped variants (``nan_price``, ``missing_field``) use the connection's first
    subscription; a connection without one gets bad JSON instead.
    """
    if variant in ("nan_price", "missing_field"):
        sub = next(iter(session.subscriptions.values()), None)
        if sub is None:
            return encode(_BAD_JSON)
        return encode(sub.live.malformed(sub.symbol.next_id, values, variant))
    if variant == "json":
        return encode(_BAD_JSON)
    if variant == "unknown_message":
        return encode(_UNKNOWN)
    if variant == "oversized":
        return encode(b'{"event":"simulated oversized frame","pad":"' + b"x" * OVERSIZED_BYTES, TEXT)
    if variant == "binary":
        return encode(_BINARY, BINARY)
    raise ValueError(f"unknown malformed variant {variant!r}; known: {', '.join(MALFORMED_VARIANTS)}")
