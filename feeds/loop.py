"""The feed loop: connect, subscribe, read, write ticks, reconnect — the same for every venue.

::

  connect (handshake, subscribe) --fail--> wait backoff ---------------+
     |                                                                 |
     v                                                                 |
  read chunk -> frames -> parser -> TickWriter -> ring (one push/chunk)|
     |  a read of one single-trade frame: packed straight into a slot  |
     |  light traffic: wait 1 ms (up to 5) before a read (batching.py) |
     |  every 50 ms: pings due? stale? lifetime near? metrics flush,   |
     |  ring pages the aggregator has read go back (dead_pages.py)     |
     |  quiet (lone frames): reads wait up to 5 s, one wakeup a frame  |
     |  (a stop signal ends the wait at once: feeds/stop.py)           |
     +-- Disconnect (EOF, close frame, stale, error) ---> backoff -----+
     +-- lifetime near: open a second session, read both, drop
         duplicates, close the old one once the new one delivers.

With one connection of a venue with a compiled scanner over a plain socket, the reads themselves stay in
C until Python must act (housekeeping due, a frame it doubts, a frame needing a decision: feeds/pumped.py,
feeds/_pump.c); the outcome is the Python reader's.

More symbols than one connection takes (feeds/connection_limits.py) are spread
over several connections, all served by one thread (feeds/connections.py), so
the ring keeps its one producer; one connection is served as above, by blocking
reads of its socket (the cheapest wakeup).

The tick ring and the symbol directory are created if missing; a second feed
for the same exchange and group is refused by the ring (one producer). A feed
process imports neither Numba nor NumPy (issue 12: memory): its rings are
``PlainRing`` producers (shm/plain_ring.py) of record forms (shm/record_forms.py).
"""
from __future__ import annotations

import gc
import logging
import select
import signal
import time
from types import ModuleType

import websocket

from feeds.backoff import Backoff
from feeds.batching import DEFAULT_WAIT_US, ReadBatching
from feeds.connection_limits import MessageBucket, OpenPacer, limits_for, split
from feeds.events import FeedEvents, RateLimitedLog
from feeds.metrics import NAMES, FeedMetrics
from feeds.plausible import Limits
from feeds.pumped import PumpedReads
from feeds.session import Disconnect, Session
from feeds.stop import WAIT, Stopped, stop_handler
from feeds.ticks import TickWriter
from shm import header as H
from shm.dead_pages import DeadPages
from shm.event_kinds import EVENT_CONNECT, EVENT_DISCONNECT, EVENT_GAP, EVENT_RECONNECT_DELAY
from shm.names import ring_name
from shm.plain_ring import open_producer
from shm.record_forms import EVENT_FORM, TICK_FORM
from shm.ring_sizing import EVENT_RING_CAPACITY, TICK_RING_CAPACITY, event_ring, tick_ring
from shm.symbols import SymbolDirectory

log = logging.getLogger("tickagg.feed")
RELEASE_MIN_BYTES = 256 << 10  # tick ring pages go back in steps of at least this (2x a second at 8k ticks/s)
HOUSEKEEPING_S = 0.05
READ_TIMEOUT_S = 0.25
IDLE_READ_TIMEOUT_S = 5.0  # the longest read wait (Feed.idle_wait_s); a stop signal ends it at once (feeds/stop.py)
OVERLAP_MAX_S = 10.0  # a lifetime switch gives the new connection this long to deliver
GC_YOUNG_OBJECTS = 200_000  # more than a full read buffer's trades: no collection in the middle of a chunk


class Link:
    """One of a feed's connections: its share of the symbols, its backoff, its session while up."""

    def __init__(self, index: int, symbols: list[str], backoff: Backoff):
        self.index, self.symbols, self.backoff = index, symbols, backoff
        self.session: Session | None = None
        self.ever_connected = False  # a reconnect fills its gap from the venue's replays
        self.next_open = 0.0  # time.monotonic() of the next connection attempt
        self.switching: Session | None = None  # the new session of a lifetime switch, while it starts
        self.switch_deadline = 0.0


class Feed:
    """One exchange's feed process: ``Feed(...).run()`` until ``stop()`` or a signal."""

    def __init__(self, venue: ModuleType, symbols: list[str] | None = None, url: str | None = None,
                 group: str = "default", stale_after_s: float | None = None, max_lifetime_s: float | None = None,
                 ring_capacity: int = TICK_RING_CAPACITY, backoff: Backoff | None = None,
                 limits: Limits | None = None, per_connection: int | None = None,
                 batch_wait_us: float = DEFAULT_WAIT_US):
        """``per_connection``: at most this many symbols per connection (below the venue's limit);
        ``batch_wait_us``: the read batching wait while traffic is light (feeds/batching.py; 0: off)."""
        self.venue = venue
        self.name = venue.NAME
        self.symbols = list(symbols or venue.DEFAULT_SYMBOLS)
        self.url = url or venue.URL
        self.stale_after_s = stale_after_s or venue.STALE_AFTER_S
        self.max_lifetime_s = max_lifetime_s if max_lifetime_s is not None else venue.MAX_LIFETIME_S
        self.backoff = backoff or Backoff()
        self.batching = ReadBatching(batch_wait_us / 1e6)
        # plain stores (shm/plain.py), so a feed process never imports Numba nor NumPy (issue 12)
        self.ring = open_producer(ring_name(group, tick_ring(self.name)), TICK_FORM, ring_capacity)
        self.ring.metric_names = list(NAMES)
        fd, _ = self.ring.file_and_size()  # the pages the aggregator has read go back (shm/dead_pages.py)
        self.read_pages = DeadPages(fd, H.HEADER_BYTES, self.ring.record_bytes, self.ring.capacity, RELEASE_MIN_BYTES)
        self.events_ring = open_producer(ring_name(group, event_ring(self.name)), EVENT_FORM, EVENT_RING_CAPACITY)
        self.metrics = FeedMetrics(self.ring.metrics)
        self.events = FeedEvents(self.name, self.events_ring)
        self.warnings = RateLimitedLog(log)
        self.writer = TickWriter(self.name, self.ring, SymbolDirectory(group), self.metrics, self.symbols, self._gap,
                                 seq_is_trade_id=venue.SEQ_IS_TRADE_ID, limits=limits or Limits(),
                                 symbol_case=venue.SYMBOL_CASE, warnings=self.warnings)
        self.limits = limits_for(venue, per_connection)
        self.pacer = OpenPacer(self.limits)  # connection attempts, all connections together
        self.bucket = MessageBucket(self.limits, time.monotonic())  # subscribe frames, likewise
        self.links = [Link(index, chunk, self.backoff if index == 0 else self.backoff.copy())
                      for index, chunk in enumerate(split(self.symbols, self.limits))]
        self._stopping = False

    def stop(self, *_signal) -> None:
        self._stopping = True

    def give_back_read_pages(self) -> None:
        """At housekeeping: the tick ring's pages holding only records the aggregator has read go back, once
        ``RELEASE_MIN_BYTES`` of them died (a venue's ring is 4 MiB at the default sizing; ~256 KiB stays)."""
        self.read_pages.release(self.ring.tail, self.ring.head)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the feed, and end a wait for the network under way (feeds/stop.py)."""
        handler = stop_handler(self.stop)
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def idle_wait_s(self, floor_s: float) -> float:
        """How long a quiet feed waits for a frame before its housekeeping: ``IDLE_READ_TIMEOUT_S``, and a
        quarter of the stale limit and of the venue's ping interval (pings and the stale check run at most that
        late) and, with a lifetime limit, of the margin the switch takes before it, if shorter; at least ``floor_s``."""
        bounds = [IDLE_READ_TIMEOUT_S, self.stale_after_s / 4]
        if self.venue.PING_INTERVAL_S:
            bounds.append(self.venue.PING_INTERVAL_S / 4)
        if self.max_lifetime_s:
            bounds.append((self.max_lifetime_s - self._switch_at()) / 4)
        return max(floor_s, min(bounds))

    def run(self) -> None:
        """Connect and serve until stopped; reconnect with backoff whenever a connection ends."""
        # The hot path keeps a chunk's trades (two tracked objects a frame) alive until they are
        # written: with the default thresholds that set off a young collection every few hundred
        # frames and full ones over the whole startup heap (numpy, numba): about 12% of the CPU.
        gc.freeze()  # startup objects: never walked again
        gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])
        if len(self.links) > 1:
            from feeds.connections import serve_connections

            serve_connections(self)
            self.metrics.flush()
            return
        values = self.metrics.values
        link = self.links[0]
        while not self._stopping:
            wait = self.pacer.wait(time.monotonic())
            if wait:
                self._wait(wait)
                continue
            try:
                session = self._open_session(link)
            except Stopped:
                break  # a stop signal ended the connect's wait
            if session is None:
                self._wait(self.backoff.next_delay())
                continue
            values["connected"] = values["connections"] = 1
            reason = "stopped"
            try:
                self._serve(session)
            except Disconnect as exc:
                reason = str(exc)
            except Stopped:
                pass  # a stop signal ended a read's wait: the session closes as on any stop
            finally:
                self.batching.stamp[0] = 0
                self.writer.flush()
                values["connected"] = values["connections"] = 0
                self.metrics.flush()
            session.close()
            if self._stopping:
                break
            self.events.emit(EVENT_DISCONNECT, detail=reason)
            log.warning("%s: disconnected (%s)", self.name, reason)
            self.backoff.connection_ended(time.monotonic() - session.started if session.live_trades else 0.0)
            values["reconnects"] += 1
            self._wait(self.backoff.next_delay())
        self.metrics.flush()

    def _open_session(self, link: Link) -> Session | None:
        """Open ``link``'s connection (counted against the venue's connection rate); None when it failed.
        Raises ``Stopped`` when a stop signal ended the connect's wait (a venue that does not answer: up to the
        connect timeout, 10 s)."""
        self.pacer.opened(time.monotonic())
        where = self.url if len(self.links) == 1 else f"{self.url} (connection {link.index + 1} of {len(self.links)})"
        WAIT.waiting = True  # a stop signal may end the connect (feeds/stop.py)
        try:
            session = Session(self.venue, self.url, link.symbols, self.writer, self.metrics, self.events,
                              self.warnings, self.stale_after_s, fill_from_replays=link.ever_connected,
                              bucket=self.bucket, stamp=self.batching.stamp)
        except (OSError, websocket.WebSocketException) as exc:
            self.warnings.warning("connect", f"{self.name}: cannot connect to {where}: {exc}")
            self.events.emit(EVENT_DISCONNECT, detail=f"connect failed: {exc}")
            return None
        finally:
            WAIT.waiting = False
        session.connection.settimeout(READ_TIMEOUT_S)
        link.ever_connected = True
        self.metrics.values["connects"] += 1
        self.events.emit(EVENT_CONNECT, value=self.metrics.values["connects"], detail=where)
        log.info("%s: connected to %s", self.name, where)
        return session

    def _serve(self, session: Session) -> None:
        """Read until the session ends; switch sessions before the venue's lifetime limit.

        Housekeeping runs after a read at most every ``HOUSEKEEPING_S``, and after
        every read that timed out (the counters are flushed then: they stand still
        from there). Reads wait up to ``READ_TIMEOUT_S`` while frames come closer
        together than that (or subscribe frames wait for the venue's rate), else
        up to ``idle_wait_s`` (5 s, less for a short stale limit or ping interval):
        a silent feed wakes every few seconds, and a lone frame (housekeeping
        right after it) costs one wakeup, not a second one a moment later. A stop
        signal ends a read's wait at once (``Stopped``: feeds/stop.py).
        While traffic is light a read that brought data is followed by the
        batching wait (feeds/batching.py); the read after it does not block, and
        what it finds is stamped with the wait's start.
        """
        next_housekeeping = 0.0
        writer, metrics, batching = self.writer, self.metrics, self.batching
        values, stamp = metrics.values, batching.stamp
        short = True  # the socket's read timeout is READ_TIMEOUT_S (a new session's: Feed._open_session)
        idle_timeout_s = self.idle_wait_s(READ_TIMEOUT_S)
        pumped = PumpedReads.for_session(session)  # the compiled read loop, where it can read (feeds/pumped.py)
        while not self._stopping:
            if pumped is not None and pumped.usable():  # reads until housekeeping is due (not short: one read)
                received = pumped.read(next_housekeeping if short else 0.0, stamp[0],
                                       batching.wait_s if batching.active else 0.0)
                stamp[0] = 0
            elif stamp[0]:  # after a batching wait: what came meanwhile, without blocking
                received = session.read(waited=True)
                stamp[0] = 0
                if not received:
                    continue  # nothing did: the next read blocks (and stamps its own time)
            else:
                received = session.read()
            if received:
                now = session.last_rx  # time.monotonic() right after the read
                if writer.staged_ticks:  # a single-trade read went straight into the ring: nothing staged
                    writer.flush()
                if now < next_housekeeping and not short:  # frames closer together than HOUSEKEEPING_S:
                    short = True  # what this read counted is flushed within READ_TIMEOUT_S even if none follow
                    session.connection.settimeout(READ_TIMEOUT_S)
            else:
                now = time.monotonic()
                next_housekeeping = 0.0  # a read timed out: flush the counters, they stand still from here
            if now >= next_housekeeping:
                next_housekeeping = now + HOUSEKEEPING_S
                values["last_frame_ns"] = session.recv_ns
                batching.update(values["frames"], values["reads"], now)
                metrics.flush()
                self.give_back_read_pages()
                session.housekeeping(now)
                if self.max_lifetime_s and now - session.started > self._switch_at():
                    new = self._switch(session)
                    if new is not session:
                        session, short = new, True
                        pumped = PumpedReads.for_session(session)
                if short and not received and not session.unsent:  # quiet: wake rarely
                    short = False
                    session.connection.settimeout(idle_timeout_s)
                elif session.unsent and not short:  # subscribe frames wait for the rate: housekeeping soon
                    short = True
                    session.connection.settimeout(READ_TIMEOUT_S)
            if received and batching.active:
                batching.wait()
                values["batch_waits"] += 1

    def _switch_at(self) -> float:
        """Age at which to open the next connection: 5% (at most 5 min) before the limit."""
        return self.max_lifetime_s - min(300.0, self.max_lifetime_s * 0.05)

    def _switch(self, old: Session) -> Session:
        """Open a new session while the old one still delivers; read both (duplicates dropped
        by sequence) until the new one has delivered trades, then close the old one."""
        if self.pacer.wait(time.monotonic()):
            return old  # the venue's connection rate: try again at a later housekeeping
        new = self._open_session(self.links[0])
        if new is None:
            return old  # try again at the next housekeeping; the old one still works
        sessions = [old, new]
        self.writer.overlap = set()  # venues without sequence numbers: drop repeats by trade id
        deadline = time.monotonic() + OVERLAP_MAX_S
        while not self._stopping and time.monotonic() < deadline and new.live_trades == 0:
            ready, _, _ = select.select([s.connection.sock for s in sessions], [], [], READ_TIMEOUT_S)
            for session in list(sessions):
                if session.connection.sock in ready:
                    try:
                        if session.read():
                            self.writer.flush()
                    except Disconnect:
                        if session is new:
                            new.close()
                            self.writer.overlap = None
                            return old
                        sessions.remove(session)  # the old one ended first: the new one carries on
        old.close()
        self.writer.overlap = None
        self.metrics.values["lifetime_reconnects"] += 1
        log.info("%s: switched to a new connection before the venue's %.0f s limit", self.name, self.max_lifetime_s)
        return new

    def _gap(self, symbol: str, symbol_id: int, missing: int) -> None:
        self.events.emit(EVENT_GAP, value=missing, detail=symbol, symbol_id=symbol_id)
        self.warnings.warning("gap", f"{self.name}: {missing} trade(s) missing before the next {symbol} trade")

    def _wait(self, seconds: float) -> None:
        self.events.emit(EVENT_RECONNECT_DELAY, value=int(seconds * 1e9))
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self.ring.close()
        self.events_ring.close()
