"""The kinds of EVENT records (shm/pipeline_records.py), without NumPy: a feed emits them (issue 12)."""
from __future__ import annotations

(
    EVENT_CONNECT,
    EVENT_DISCONNECT,
    EVENT_RECONNECT_DELAY,
    EVENT_GAP,
    EVENT_PARSE_ERROR,
    EVENT_RING_DROP,
    EVENT_LATE_TICK,
    EVENT_SUBSCRIBED,
    EVENT_VENUE_ERROR,
) = range(1, 10)
EVENT_NAMES = {
    EVENT_CONNECT: "connect",
    EVENT_DISCONNECT: "disconnect",
    EVENT_RECONNECT_DELAY: "reconnect_delay",
    EVENT_GAP: "gap",
    EVENT_PARSE_ERROR: "parse_error",
    EVENT_RING_DROP: "ring_drop",
    EVENT_LATE_TICK: "late_tick",
    EVENT_SUBSCRIBED: "subscribed",
    EVENT_VENUE_ERROR: "venue_error",
}

