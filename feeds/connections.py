"""A feed's several connections, served by one thread: one readiness loop over their sockets.

The venue's per-connection limits split the symbols (feeds/connection_limits.py);
each share is a ``Link`` (feeds/loop.py) with its own session (socket, parser
state, heartbeats, stale clock), backoff and lifetime. The loop::

  open the links that are down and due (paced by the venue's connection rate)
  epoll: wait for a readable socket, the next due open or (no frames) housekeeping
  read each ready session (TLS: also while its SSL layer holds bytes) -> writer
  (plain sockets of a compiled venue: the wait and the usual reads in C until
  housekeeping is due or a read needs Python: feeds/pumped.py, _pump.serve)
  flush the writer once per wakeup (one thread: pushes into the ring never overlap)
  light traffic: wait 1 ms (at most 5) before the next epoll (feeds/batching.py; after it
  epoll does not block, and the reads are stamped with the wait's start; the
  compiled loop waits so after each of its rounds that read, as Python does)
  after a read, every 50 ms (else every few seconds: Feed.idle_wait_s): subscribe
  frames the rate held back, pings, stale checks, lifetime switches, counters
  (a stop signal ends the epoll wait at once: feeds/stop.py)

A link whose connection ends (EOF, close frame, stale, error) is closed and
retried after its own backoff; the others keep streaming. A lifetime switch
opens the link's new session beside the old one, reads both (duplicates dropped
by sequence, or by trade id while ``writer.overlap`` is on) and closes the old
one once the new one has delivered trades or ``OVERLAP_MAX_S`` passed.

Reads are blocking reads of a socket epoll said is readable, so they return at
once; a TLS socket can be readable with only part of a record, and then waits
up to the read timeout (0.25 s) for the rest.
"""
from __future__ import annotations

import logging
import select
import ssl
import time
from typing import TYPE_CHECKING

from feeds.loop import HOUSEKEEPING_S, OVERLAP_MAX_S, READ_TIMEOUT_S, Link
from feeds.compiled import pump as compiled_pump
from feeds.pumped import PumpedReads
from feeds.session import Disconnect, Session
from feeds.stop import WAIT, Stopped
from shm.event_kinds import EVENT_DISCONNECT, EVENT_RECONNECT_DELAY

if TYPE_CHECKING:
    from feeds.loop import Feed

log = logging.getLogger("tickagg.feed")


class ConnectionSet:
    def __init__(self, feed: Feed):
        self.feed = feed
        self.links = feed.links
        self.epoll = select.epoll()  # used directly: ``selectors`` costs a few µs more per wakeup
        self.watched: dict[int, tuple[Link, Session]] = {}  # fd -> its link and session
        self.fds: dict[Session, int] = {}  # session -> the fd it was registered with (its socket may close first)
        self.pumped: dict[Session, PumpedReads] = {}  # sessions the compiled read loop can read (feeds/pumped.py)
        self.switches = 0
        self.down = len(self.links)  # links without a session  # lifetime switches under way (``writer.overlap`` is on while any is)

    # -- opening and closing ---------------------------------------------------------------------
    def _open_due(self, now: float) -> bool:
        """Open the links that are down and due; True when one opened (its subscribe frames may wait)."""
        feed = self.feed
        opened = False
        for link in self.links:
            if link.session is not None or now < link.next_open or feed._stopping:
                continue
            wait = feed.pacer.wait(now)
            if wait:  # the venue's connection rate: every waiting link tries again then
                for other in self.links:
                    if other.session is None:
                        other.next_open = max(other.next_open, now + wait)
                return opened
            session = feed._open_session(link)
            now = time.monotonic()
            if session is None:
                self._retry_later(link, now)
                continue
            link.session = session
            self._watch(link, session)
            self._count_up()
            opened = True
        return opened

    def _watch(self, link: Link, session: Session) -> None:
        fd = session.connection.sock.fileno()
        self.epoll.register(fd, select.EPOLLIN)
        self.watched[fd], self.fds[session] = (link, session), fd
        pumped = PumpedReads.for_session(session)
        if pumped is not None:
            self.pumped[session] = pumped

    def _unwatch(self, session: Session) -> None:
        self.pumped.pop(session, None)
        fd = self.fds.pop(session, None)
        if fd is not None:
            del self.watched[fd]
            try:
                self.epoll.unregister(fd)
            except OSError:  # its socket is already closed: the kernel dropped it
                pass
        session.close()

    def _retry_later(self, link: Link, now: float) -> None:
        delay = link.backoff.next_delay()
        link.next_open = now + delay
        self.feed.events.emit(EVENT_RECONNECT_DELAY, value=int(delay * 1e9), detail=f"connection {link.index + 1}")

    def _count_up(self) -> None:
        values = self.feed.metrics.values
        values["connections"] = up = sum(link.session is not None for link in self.links)
        self.down = len(self.links) - up
        values["connected"] = 1 if up else 0

    def _ended(self, link: Link, session: Session, reason: str) -> None:
        """``session`` of ``link`` is over: a starting switch is abandoned, a live connection retried."""
        feed = self.feed
        feed.writer.flush()
        self._unwatch(session)
        if session is link.switching:
            self._switch_done(link, keep_new=False)
            return
        if link.switching is not None:  # the old one ended first: the new one carries on
            self._switch_done(link, keep_new=True, old_closed=True)
            return
        link.session = None
        self._count_up()
        feed.metrics.flush()
        if feed._stopping:
            return
        detail = f"connection {link.index + 1}: {reason}"
        feed.events.emit(EVENT_DISCONNECT, detail=detail)
        log.warning("%s: disconnected (%s)", feed.name, detail)
        link.backoff.connection_ended(time.monotonic() - session.started if session.live_trades else 0.0)
        feed.metrics.values["reconnects"] += 1
        self._retry_later(link, time.monotonic())

    # -- lifetime switches -------------------------------------------------------------------------
    def _maybe_switch(self, link: Link, now: float) -> None:
        feed = self.feed
        if link.switching is not None:
            if link.switching.live_trades:
                self._switch_done(link, keep_new=True)
            elif now > link.switch_deadline:
                self._unwatch(link.switching)
                self._switch_done(link, keep_new=False)
            return
        if not feed.max_lifetime_s or now - link.session.started <= feed._switch_at() or feed.pacer.wait(now):
            return
        new = feed._open_session(link)
        if new is None:
            return  # try again at the next housekeeping; the old one still works
        link.switching, link.switch_deadline = new, time.monotonic() + OVERLAP_MAX_S
        self._watch(link, new)
        self.switches += 1
        if feed.writer.overlap is None:
            feed.writer.overlap = set()  # venues without sequence numbers: drop repeats by trade id

    def _switch_done(self, link: Link, keep_new: bool, old_closed: bool = False) -> None:
        feed = self.feed
        new, link.switching = link.switching, None
        if keep_new:
            if not old_closed:
                self._unwatch(link.session)
            link.session = new
            feed.metrics.values["lifetime_reconnects"] += 1
            log.info("%s: connection %d switched before the venue's %.0f s limit", feed.name, link.index + 1,
                     feed.max_lifetime_s)
        self.switches -= 1
        if not self.switches:
            feed.writer.overlap = None

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> None:
        """Serve until the feed stops. Housekeeping runs after a read at most every 50 ms; without
        reads, every ``Feed.idle_wait_s`` (5 s, less for a short stale limit or ping interval; every
        50 ms while subscribe frames wait or a switch is under way), and 0.25 s after reads it did
        not follow (their counters stand still from there). A silent feed wakes every few seconds,
        and a lone frame (housekeeping right after it) costs one wakeup, not two. A stop signal
        ends the epoll wait at once (``Stopped``: feeds/stop.py)."""
        feed = self.feed
        writer, metrics, poll, watched = feed.writer, feed.metrics, self.epoll.poll, self.watched
        batching = feed.batching
        stamp = batching.stamp
        idle_s = feed.idle_wait_s(HOUSEKEEPING_S)
        next_housekeeping = wake_at = 0.0  # housekeeping due after a read / due without one
        try:
            while not feed._stopping:
                now = time.monotonic()
                timeout = wake_at - now
                if self.down:
                    if self._open_due(now):
                        next_housekeeping = wake_at = min(wake_at, now + HOUSEKEEPING_S)
                        timeout = min(timeout, HOUSEKEEPING_S)
                    timeout = min([timeout, *(link.next_open - now for link in self.links if link.session is None)])
                received = 0
                pumps = self._pumps()
                if pumps is not None:  # the wait and the usual reads in C (feeds/pumped.py)
                    received = self._serve(pumps, now + max(0.0, timeout), next_housekeeping)
                    ready = ()
                else:
                    ready = poll(0.0) if stamp[0] else None  # after a batching wait: what came meanwhile
                if not ready and pumps is None:
                    stamp[0] = 0  # nothing did: a wait for the next frame, stamped by its own read
                    WAIT.waiting = True  # a stop signal may end this wait (feeds/stop.py)
                    try:
                        ready = poll(max(0.0, timeout))
                    finally:
                        WAIT.waiting = False
                for fd, _ in ready:
                    entry = watched.get(fd)
                    if entry is not None:  # None: ended earlier in this batch
                        received += self._read(*entry)
                stamp[0] = 0
                if received:
                    writer.flush()
                now = time.monotonic()
                if now >= (next_housekeeping if received else wake_at):
                    self._housekeeping(now)
                    batching.update(metrics.values["frames"], metrics.values["reads"], now)
                    quick = self.switches or any(link.session.unsent for link in self.links if link.session)
                    next_housekeeping = now + HOUSEKEEPING_S
                    wake_at = now + (HOUSEKEEPING_S if quick else idle_s)
                elif received:  # frames closer together than HOUSEKEEPING_S: what they counted is flushed
                    wake_at = min(wake_at, now + READ_TIMEOUT_S)  # within READ_TIMEOUT_S even if none follow
                if received and batching.active:
                    batching.wait()
                    metrics.values["batch_waits"] += 1
        except Stopped:
            pass  # a stop signal ended a wait: the loop ends as it would at its next turn
        finally:
            writer.flush()
            for link in self.links:
                for session in (link.session, link.switching):
                    if session is not None:
                        self._unwatch(session)
                link.session = link.switching = None
            self._count_up()
            metrics.flush()
            self.epoll.close()

    def _pumps(self) -> dict | None:
        """fd -> the Pump that reads it in C (None: Python reads it), or None while no connection can be read in
        C (none is pumped; a lifetime switch's overlap is under way)."""
        if not self.pumped or self.switches or self.feed.writer.overlap is not None:
            return None
        pumps = {}
        for fd, (_, session) in self.watched.items():
            pumped = self.pumped.get(session)
            if pumped is not None and pumped.usable():
                pumps[fd] = pump = pumped.pump
                pump.filled = session.connection._filled  # Python may have read it since
            else:
                pumps[fd] = None
        return pumps

    def _serve(self, pumps: dict, wake_at: float, next_housekeeping: float) -> int:
        """Wait and read in C (``feeds._pump.serve``) until Python must act: > 0 when reads brought data."""
        writer, batching = self.feed.writer, self.feed.batching
        stamp, ring = batching.stamp, writer.ring
        WAIT.waiting = True  # a stop signal may end the wait (feeds/stop.py)
        try:
            why, fd, writer.staged_ticks, writer._seq = compiled_pump.serve(
                self.epoll.fileno(), pumps, int(wake_at * 1e9), int(next_housekeeping * 1e9), int(READ_TIMEOUT_S * 1e9),
                stamp[0], ring._checked_ns, ring._next_check_ns, writer.staged_ticks, writer._seq,
                int(batching.wait_s * 1e9) if batching.active else 0)
        except BaseException:  # interrupted after reads: the tick numbers they took
            writer._seq = max([writer._seq, *(pump.tick_seq for pump in pumps.values() if pump is not None)])
            raise
        finally:
            WAIT.waiting = False
            stamp[0] = 0
            for pumped in self.pumped.values():
                pumped.counted()
        if why == compiled_pump.TIMEOUT:
            return 0
        if why == compiled_pump.HOUSEKEEPING:
            return 1
        link, session = self.watched[fd]
        if why == compiled_pump.READY:  # a connection Python reads
            return self._read(link, session)
        try:
            self.pumped[session].finish(why)
        except Disconnect as exc:
            self._ended(link, session, str(exc))
        return 1

    def _read(self, link: Link, session: Session) -> int:
        """Read ``session`` (and, on TLS, what its SSL layer still holds); 0 after it ended."""
        received = 0
        try:
            received = session.read()
            sock = session.connection.sock
            if isinstance(sock, ssl.SSLSocket):
                while sock.pending():
                    received += session.read()
        except Disconnect as exc:
            self._ended(link, session, str(exc))
            return 0
        return received

    def _housekeeping(self, now: float) -> None:
        feed = self.feed
        values = feed.metrics.values
        values["last_frame_ns"] = max((link.session.recv_ns for link in self.links if link.session), default=values["last_frame_ns"])
        feed.metrics.flush()
        feed.give_back_read_pages()
        for link in self.links:
            for session in (link.session, link.switching):
                if session is None:
                    continue
                try:
                    session.housekeeping(now)
                except Disconnect as exc:
                    self._ended(link, session, str(exc))
            if link.session is not None:
                self._maybe_switch(link, now)


def serve_connections(feed: Feed) -> None:
    """Serve all of ``feed``'s links until it is stopped."""
    ConnectionSet(feed).run()
