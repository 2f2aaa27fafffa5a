"""Each venue's connection limits in one place, and the symbol list split into connections.

A feed spreads its symbols over as many connections as these limits need
(``split``), opens them no faster than the venue allows (``OpenPacer``) and
sends subscribe frames no faster than the venue allows (``MessageBucket``; the
venues count both per IP, so one pacer and one bucket serve all of a feed's
connections). Numbers come from /work/shared/exchange-protocols.md (section
cited per venue); where the venue documents nothing the number is a
conservative guess and says so. Symbols per subscribe frame stay in the venue
modules (``subscribe_messages`` batches them) and are only referred to here.
"""
from __future__ import annotations

import collections
import dataclasses
import math
from dataclasses import dataclass

UNKNOWN_PER_CONNECTION = 100  # undocumented: what cryptofeed-style clients use comfortably
UNKNOWN_MESSAGES_PER_S = 50.0  # undocumented subscribe rate
UNKNOWN_OPENS = (10, 10.0)  # undocumented connection rate: 10 opens per 10 s


@dataclass(frozen=True)
class ConnectionLimits:
    per_connection: int  # symbols (streams, channels, topics) one connection carries
    messages_per_s: float  # subscribe frames per second (a burst of one second's worth is allowed)
    opens: int  # connections opened ...
    window_s: float  # ... per this many seconds
    max_connections: int | None = None  # connections the venue allows at once (None: no documented cap)
    per_message: str = ""  # where the symbols-per-frame batching lives (the venue module)


LIMITS: dict[str, ConnectionLimits] = {
    # §1: 1024 streams per connection; 5 incoming messages/s; 300 connections per 5 min per IP.
    # The streams travel in the URL: no subscribe frame at all.
    "binance": ConnectionLimits(1024, 5.0, 300, 300.0, per_message="URL (feeds/binance.url_for)"),
    # §2: connections 3 requests/s per IP; 480 subscribes/h per connection; a request's args under 64 KB.
    # No per-connection cap documented: 400 (4 frames of ARGS_PER_MESSAGE, far below 480/h).
    "okx": ConnectionLimits(400, 3.0, 3, 1.0, per_message="feeds/okx.ARGS_PER_MESSAGE"),
    # §3a: 8 connection requests/s per IP, 100 client messages/s per IP; no per-connection cap documented.
    "coinbase": ConnectionLimits(UNKNOWN_PER_CONNECTION, 100.0, 8, 1.0, per_message="one frame, all products"),
    # §3b (Advanced Trade, same venue name): 8 connections/s, 8 unauthenticated messages/s per IP.
    "coinbase_advanced": ConnectionLimits(UNKNOWN_PER_CONNECTION, 8.0, 8, 1.0,
                                          per_message="one frame per channel, all products"),
    # §4a: message rate "dynamic", connection limits not documented: conservative.
    "kraken": ConnectionLimits(UNKNOWN_PER_CONNECTION, 5.0, *UNKNOWN_OPENS, per_message="one frame, all symbols"),
    # §5: args <= 21,000 characters per connection (400 topics of up to ~50 characters); spot <= 10 args
    # per request; 500 connections per 5 minutes per domain; no subscribe rate documented.
    "bybit": ConnectionLimits(400, 10.0, 500, 300.0, per_message="feeds/bybit.ARGS_PER_MESSAGE"),
    # §6: 25 channels per connection (ws-public); 20 connections per minute on api-pub (60 s block beyond).
    "bitfinex": ConnectionLimits(25, UNKNOWN_MESSAGES_PER_S, 20, 60.0, per_message="one frame per symbol"),
    # §7: 1,024 channels per connection (the 1,025th silently closes it); frames < 512 bytes (one channel each).
    "bitstamp": ConnectionLimits(1024, UNKNOWN_MESSAGES_PER_S, *UNKNOWN_OPENS, per_message="one frame per symbol"),
    # §8: CONNECTION_ATTEMPTS 300 per 5 min; REQUEST_WEIGHT 7000 per 10 s; no stream cap documented.
    "gemini": ConnectionLimits(UNKNOWN_PER_CONNECTION, 10.0, 300, 300.0, per_message="one frame, all symbols"),
    # §9: 32 connections per IP; ~500 channels per subscribe call; subscribe credits ~3.3/s sustained.
    "deribit": ConnectionLimits(500, 3.0, *UNKNOWN_OPENS, max_connections=32,
                                per_message="feeds/deribit.CHANNELS_PER_MESSAGE"),
    # §10, §13: per-connection cap not verified; the welcome frame's limit.remaining (39) counts requests.
    "bitmex": ConnectionLimits(UNKNOWN_PER_CONNECTION, 5.0, *UNKNOWN_OPENS, per_message="feeds/bitmex.ARGS_PER_MESSAGE"),
}


def limits_for(venue, per_connection: int | None = None) -> ConnectionLimits:
    """The limits of a venue module (Coinbase Advanced Trade has its own under the venue's name);
    ``per_connection``: fewer symbols per connection than the venue allows (never more)."""
    key = venue.__name__.rpartition(".")[2]
    limits = LIMITS.get(key) or LIMITS[venue.NAME]
    if per_connection is not None and per_connection < limits.per_connection:
        limits = dataclasses.replace(limits, per_connection=max(1, per_connection))
    return limits


def split(symbols: list[str], limits: ConnectionLimits) -> list[list[str]]:
    """``symbols`` in order, in as few connections as the limit needs, as evenly as possible
    (2,500 Binance symbols: 834 + 833 + 833, each connection with room to spare)."""
    if not symbols:
        return [[]]
    count = math.ceil(len(symbols) / limits.per_connection)
    size, extra = divmod(len(symbols), count)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        chunks.append(symbols[start:end])
        start = end
    return chunks


class OpenPacer:
    """At most ``opens`` connection attempts per ``window_s`` (a sliding window of attempt times)."""

    def __init__(self, limits: ConnectionLimits):
        self.opens, self.window_s = limits.opens, limits.window_s
        self._times: collections.deque[float] = collections.deque()

    def wait(self, now: float) -> float:
        """Seconds until an attempt is allowed (0: now)."""
        times = self._times
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return 0.0 if len(times) < self.opens else times[0] + self.window_s - now

    def opened(self, now: float) -> None:
        self._times.append(now)


class MessageBucket:
    """Subscribe frames per second: a token bucket holding one second's worth (at least one frame)."""

    def __init__(self, limits: ConnectionLimits, now: float):
        self.rate = limits.messages_per_s
        self.capacity = max(1.0, self.rate)
        self.tokens, self.last = self.capacity, now

    def take(self, now: float) -> bool:
        """True (and one token spent) when a frame may go now."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self) -> float:
        """Seconds until the next token (0 when one is there)."""
        return max(0.0, (1.0 - self.tokens) / self.rate)
