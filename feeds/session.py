"""One connection to a venue: its socket, its parser state, its heartbeat clock.

A session turns frames into ticks through the feed's shared TickWriter, answers
the venue's heartbeats, and tells the feed loop when the connection is dead
(``Disconnect``). A feed runs one session per connection (its share of the
symbols, feeds/connections.py), and two for the same share only while it
switches connections before a venue's lifetime limit. Subscribe frames go out
as the venue's message rate allows (``bucket``); the rest wait for ``housekeeping``.

Hot path: the connection hands over each socket read's run of text frames as
one list (``texts``); their trades go to the writer in one ``add_frames`` call,
earlier only where order demands it (a bad frame's counters and events, the
parser's outboxes). A read that held exactly one whole text frame (light
traffic: a wakeup per frame) comes as ``text``, and a frame of one trade goes
straight into the ring (``TickWriter.add_one``).
"""
from __future__ import annotations

import collections
import logging
import time
from operator import length_hint
from types import ModuleType

import websocket

from feeds.connection_limits import MessageBucket
from feeds.events import FeedEvents, RateLimitedLog
from feeds.metrics import FeedMetrics
from feeds.ticks import TickWriter
from feeds.trade import FrameError
from feeds.wsconn import OP_CLOSE, OP_PING, Connection, ConnectionClosed
from shm.event_kinds import EVENT_VENUE_ERROR
from shm.records import FLAG_REPLAY

log = logging.getLogger("tickagg.feed")


class Disconnect(Exception):
    """The session is over; the message says why (logged and sent as an event)."""


class Session:
    def __init__(self, venue: ModuleType, url: str, symbols: list[str], writer: TickWriter, metrics: FeedMetrics,
                 events: FeedEvents, warnings: RateLimitedLog, stale_after_s: float, fill_from_replays: bool,
                 connect_timeout_s: float = 10.0, connection: Connection | None = None,
                 bucket: MessageBucket | None = None, stamp: list | None = None):
        """``connection``: an open connection to use instead of connecting (tests drive frames through it);
        ``bucket``: the venue's subscribe-frame rate (feeds/connection_limits.py), shared by a feed's
        connections: frames beyond it wait for ``housekeeping`` (None: all sent at once); ``stamp``: the
        feed's batching stamp (feeds/batching.py): while ``stamp[0]`` is set, reads take it as receive time."""
        self.venue, self.writer, self.metrics, self.events, self.warnings = venue, writer, metrics, events, warnings
        self.values = metrics.values
        self.parser = venue.Parser()
        self._parse, self._add_frames, self._add_one = self.parser.parse, writer.add_frames, writer.add_one  # bound once
        self._outboxes = (self.parser.replayed, self.parser.replies)  # the parser's lists, drained in place
        self.stale_after_s = stale_after_s
        self.fill_from_replays = fill_from_replays
        self.connection = connection or Connection(venue.url_for(url, symbols), timeout_s=connect_timeout_s)
        self.started = self.last_rx = time.monotonic()
        self.next_ping = self.started + (venue.PING_INTERVAL_S or float("inf"))
        self.last_ping = self.started - 1.0
        self.live_trades = 0
        self.recv_ns = 0
        self._stamp = stamp if stamp is not None else [0]
        self.bucket = bucket
        self.unsent = collections.deque([*venue.on_connect_messages(), *venue.subscribe_messages(symbols)])
        self._send_subscriptions(self.started)

    def _send_subscriptions(self, now: float) -> None:
        """Send the subscribe frames the bucket allows now (all of them without a bucket)."""
        unsent, bucket, send = self.unsent, self.bucket, self.connection.send_text
        while unsent and (bucket is None or bucket.take(now)):
            send(unsent.popleft())

    # -- frame handler (called by Connection.read) -----------------------------
    def received(self, nbytes: int) -> None:
        self.recv_ns = self._stamp[0] or time.time_ns()  # after a batching wait: when the wait began
        values = self.values
        values["bytes"] += nbytes
        values["reads"] += 1

    def texts(self, payloads: list) -> None:
        """A run of text frames, in order: the hot path (a few µs per frame; every lookup counts).

        Each frame's trades are kept and written with one ``add_frames`` call,
        which stages them exactly as one ``add`` per frame would; they are
        written early whenever something else must follow them in order (a
        bad frame's counters and events, the parser's outboxes).
        """
        if len(payloads) == 1:  # one frame (the reader's single-frame reads call ``text`` directly)
            self.text(payloads[0])
            return
        values = self.values
        values["frames"] += len(payloads)
        parse, parser = self._parse, self.parser
        replayed, replies = parser.replayed, parser.replies  # the outboxes: lists, drained in place
        batch: list = []  # the trades of each frame not yet written
        keep = batch.append
        frames = iter(payloads)
        try:
            for payload in frames:
                try:
                    trades = parse(payload)
                except Exception as exc:
                    if batch:
                        self._write(batch)
                    self._failed(payload, exc)
                    continue
                if trades:
                    keep(trades)
                if replayed or replies:
                    if batch:
                        self._write(batch)
                    self._drain_outboxes(parser)
        except BaseException:
            values["frames"] -= length_hint(frames)  # the frames after the one that failed were never handled
            raise
        if batch:
            self._write(batch)

    def text(self, payload, nbytes: int = 0) -> None:
        """One text frame: ``texts([payload])`` in fewer steps; a frame of one trade goes straight into the
        ring (``TickWriter.add_one``). ``nbytes``: the frame was a whole read (light traffic: a wakeup per
        frame), and this call is ``received(nbytes)`` too (one call per wakeup, not two)."""
        values = self.values
        if nbytes:
            self.recv_ns = self._stamp[0] or time.time_ns()  # ``received``, inlined
            values["bytes"] += nbytes
            values["reads"] += 1
        values["frames"] += 1
        try:
            trades = self._parse(payload)
        except Exception as exc:
            self._failed(payload, exc)
            return
        if trades:
            if len(trades) == 1:
                self.live_trades += 1
                self._add_one(trades[0], self.recv_ns)
            else:
                self.live_trades += len(trades)
                self._add_frames((trades,), self.recv_ns)
        replayed, replies = self._outboxes
        if replayed or replies:
            self._drain_outboxes(self.parser)

    def _write(self, batch: list) -> None:
        """Stage the trades of the frames in ``batch`` (and empty it)."""
        self.live_trades += sum(map(len, batch))
        self._add_frames(batch, self.recv_ns)
        batch.clear()

    def _failed(self, payload, exc: Exception) -> None:
        """A frame the parser refused (``FrameError``) or failed on (a parser bug: count, log, go on)."""
        if isinstance(exc, FrameError):
            self.metrics.error(exc.kind)
            self.warnings.warning(exc.kind, f"{self.venue.NAME}: {exc.kind}: {exc} in frame {bytes(payload[:160])!r}")
            if exc.kind == "venue_error":
                self.events.emit(EVENT_VENUE_ERROR, detail=str(exc))
            return
        self.metrics.error("other")
        self.warnings.warning("other", f"{self.venue.NAME}: parser failed ({exc!r}) on {bytes(payload[:160])!r}")

    def _drain_outboxes(self, parser) -> None:
        """Replayed trades (a gap filler after a reconnect) and replies the venue expects."""
        if parser.replayed:
            self.values["replayed"] += len(parser.replayed)
            if self.fill_from_replays:  # after a reconnect: fill the gap, duplicates are dropped
                self.writer.add(parser.replayed, self.recv_ns, FLAG_REPLAY)
            parser.replayed.clear()
        if parser.replies:
            for reply in parser.replies:
                self.connection.send_text(reply)
            self.values["replies_sent"] += len(parser.replies)
            parser.replies.clear()

    def control(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            self.connection.pong(payload)
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            raise ConnectionClosed(f"close frame from the server (code {code}{', ' + reason if reason else ''})")

    def binary(self, length: int) -> None:
        self.values["frames"] += 1
        self.metrics.error("binary_frame")
        self.warnings.warning("binary_frame", f"{self.venue.NAME}: skipped a binary frame of {length} bytes")

    def oversized(self, length: int) -> None:
        self.values["frames"] += 1
        self.metrics.error("oversized_frame")
        self.warnings.warning("oversized_frame", f"{self.venue.NAME}: skipped a frame of {length} bytes (over the limit)")

    # -- driving ---------------------------------------------------------------
    def read(self, waited: bool = False) -> int:
        """Read one chunk (blocking up to the socket timeout; ``waited``: after a batching wait, not blocking on
        plain sockets). Raises Disconnect when the connection ended."""
        try:
            received = self.connection.read(self, waited)
        except (TimeoutError, BlockingIOError):  # nothing within the read timeout (feeds/wsconn.py settimeout)
            return 0
        except (ConnectionClosed, OSError, websocket.WebSocketException) as exc:
            raise Disconnect(str(exc) or type(exc).__name__) from None
        self.last_rx = time.monotonic()
        return received

    def housekeeping(self, now: float) -> None:
        """Subscribe frames the rate held back, heartbeats out, dead-connection detection in. Any
        frame at all counts as life.

        A ping goes out on the venue's schedule (``PING_INTERVAL_S``), and also
        whenever the connection has been silent for half the stale limit, so a
        quiet but healthy connection answers before it would count as dead.
        """
        if self.unsent:
            try:
                self._send_subscriptions(now)
            except (OSError, websocket.WebSocketException) as exc:
                raise Disconnect(f"sending a subscribe frame failed: {exc}") from None
        silent = now - self.last_rx
        if silent > self.stale_after_s:
            self.values["stale_reconnects"] += 1
            raise Disconnect(f"stale: nothing received for {silent:.1f} s")
        quiet = silent >= self.stale_after_s / 2 and self.last_ping < self.last_rx
        if now >= self.next_ping or quiet:
            venue = self.venue
            try:
                if venue.PING_TEXT:
                    self.connection.send_text(venue.PING_TEXT)
                else:  # no application ping: a protocol ping makes a quiet server answer
                    self.connection.ping()
            except (OSError, websocket.WebSocketException) as exc:
                raise Disconnect(f"sending a ping failed: {exc}") from None
            self.next_ping = now + (venue.PING_INTERVAL_S or float("inf"))
            self.last_ping = now
            self.values["pings_sent"] += 1

    def close(self) -> None:
        self.connection.close()
