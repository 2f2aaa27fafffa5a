"""A session's reads through the compiled read loop (feeds/_pump.c), and what Python does when it returns.

Used by a feed's connections (feeds/loop.py ``Feed._serve`` with one, feeds/connections.py with several) when
everything it needs is there: the compiled parts (feeds/compiled.py ``pump``), a venue with a compiled reader
(feeds/scan_venues.h: Binance, OKX, Bybit, Coinbase, Kraken v2, Bitstamp, Gemini, BitMEX, Deribit, Bitfinex; its
parser's ``scanned`` is that venue's scanner), a plain socket (``ws://``: the simulator, or a local TLS terminator;
a ``wss://`` connection's reads stay in Python, as TLS records must be decrypted by Python's ``ssl``), a ring
with plain stores (x86-64, shm/plain.py). Otherwise, and for any read while the Python reader holds state the
loop does not know (part of an oversized frame to skip, a fragmented message, the overlap of two connections),
``Session.read`` reads as before.

``read`` stays in C across reads until Python must act (``Pump.run``'s returns), then does what the Python loop
would have done at that point:

  TIMEOUT       nothing came within the socket's timeout: 0, as ``Session.read``
  HOUSEKEEPING  reads handled and pushed, the housekeeping time passed (or ``until`` 0: after the first read)
  REST          frames of a read the loop left to Python (a control, binary, fragmented or oversized frame, one
                its reader doubts, one whose trades need a decision): that frame's trades staged by
                ``TickWriter.stage_decided`` when it had read them, then ``Connection.dispatch`` hands on the rest
                of the read as if Python had read it (counted and stamped in C)
  CHECK         the ring's damage check is due: ``TickWriter.flush`` pushes (and checks)
  END / FAILED  EOF or a socket error: ``Disconnect``

The counters of the reads and frames handled in C are added to the feed's before anything else, so a flush
sees them.
"""
from __future__ import annotations

import os

import websocket

from feeds.compiled import pump as compiled_pump
from feeds.compiled import scan
from feeds.session import Disconnect, Session
from feeds.stop import WAIT
from feeds.ticks import STAGING_TICKS
from feeds.wsconn import ConnectionClosed


class PumpedReads:
    """``Session.read`` through ``feeds._pump.Pump`` for one session; ``for_session`` says whether it can."""

    def __init__(self, session: Session):
        connection, writer = session.connection, session.writer
        limits = writer.limits
        ring = writer.ring
        self.session, self.connection, self.writer, self.ring = session, connection, writer, ring
        self.values = session.values
        self.reads_in_c = 0  # reads the compiled loop took (tests, benches)
        parser = session.parser
        self.pump = compiled_pump.Pump(
            connection.sock.fileno(), connection._buffer, connection.max_frame_bytes, session.venue.NAME,
            getattr(parser, "symbols", None), writer._staging, STAGING_TICKS, writer._symbols, writer.exchange_id,
            bool(writer.seq_is_trade_id),
            (limits._behind_ns, limits._ahead_ns, limits.min_price, limits.max_price, limits.min_size, limits.max_size),
            ring._memory, ring._slots)
        codes = compiled_pump
        self._returns = {codes.TIMEOUT: self._timeout, codes.HOUSEKEEPING: self._handled, codes.REST: self._rest,
                         codes.CHECK: self._check, codes.END: self._end, codes.FAILED: self._failed}

    @staticmethod
    def for_session(session: Session) -> PumpedReads | None:
        """The compiled loop for ``session``, or None when its reads must stay in Python (see the module)."""
        if compiled_pump is None or not _compiled_reader(session):
            return None
        connection, writer = session.connection, session.writer
        if not connection._blocking or connection._nowait == 0:  # TLS, or no kernel read timeout (settimeout)
            return None
        if writer._push_bytes is None or not hasattr(writer.ring, "_memory"):
            return None
        try:
            return PumpedReads(session)
        except ValueError:  # limits the loop cannot check as Python does (an offset past int64): Python reads
            return None

    def usable(self) -> bool:
        """Whether the next read may go through the loop: no Python reader state it does not know."""
        connection = self.connection
        return not (connection._discard or connection._fragment_bytes or self.writer.overlap is not None)

    def read(self, until: float, stamp_ns: int, batch_wait_s: float) -> int:
        """Read until Python must act; > 0 when reads brought data, 0 when the socket's timeout expired.
        ``until``: the housekeeping time (time.monotonic(); 0: return after the first read); ``stamp_ns``: a
        batching wait's start (the first read then does not block, and what it finds has that receive time);
        ``batch_wait_s``: the batching wait after each read (0: none). Raises ``Disconnect`` as ``Session.read``."""
        pump, writer, ring = self.pump, self.writer, self.ring
        pump.filled, pump.staged, pump.tick_seq = self.connection._filled, writer.staged_ticks, writer._seq
        WAIT.waiting = True  # a stop signal may end a wait in the loop (feeds/stop.py)
        try:
            why = pump.run(int(until * 1e9), int(batch_wait_s * 1e9), stamp_ns, ring._checked_ns, ring._next_check_ns)
        finally:
            WAIT.waiting = False
            writer.staged_ticks, writer._seq = pump.staged, pump.tick_seq
            self.counted()
        return self._returns[why]()

    def finish(self, why: int) -> int:
        """What Python does for ``Pump.run``'s (or ``serve``'s) return ``why`` (see the module)."""
        return self._returns[why]()

    def counted(self) -> None:
        """The counts of the reads and frames handled in C since the last call into the feed's counters; the
        connection's unread bytes and the session's receive times as the loop left them."""
        pump = self.pump
        nbytes, reads, frames, trades, ticks, ring_dropped, batch_waits = pump.counters()
        if reads:
            self.connection._filled = pump.filled
            self.session.recv_ns = pump.recv_ns
            self.session.last_rx = pump.last_rx_ns / 1e9
        if reads or batch_waits:
            values = self.values
            values["bytes"] += nbytes
            values["reads"] += reads
            values["frames"] += frames
            values["ticks"] += ticks
            values["ring_dropped"] += ring_dropped
            values["batch_waits"] += batch_waits
            self.session.live_trades += trades
            self.reads_in_c += reads

    def _timeout(self) -> int:
        return 0

    def _handled(self) -> int:
        return 1

    def _rest(self) -> int:
        pump, session = self.pump, self.session
        if pump.frames is not None:  # a frame whose trades need a decision: before the frames after it
            self.writer.stage_decided(pump.frames, pump.recv_ns)
        if pump.received:
            try:
                self.connection.dispatch(session, 0, pump.received, counted=True)
            except (ConnectionClosed, OSError, websocket.WebSocketException) as exc:
                raise Disconnect(str(exc) or type(exc).__name__) from None
        return 1

    def _check(self) -> int:
        self.writer.flush()  # the ring's damage check runs in its pusher
        return 1

    def _end(self) -> int:
        raise Disconnect("the server closed the connection (EOF)")

    def _failed(self) -> int:
        error = self.pump.error
        raise Disconnect(str(OSError(error, os.strerror(error))))  # as Session.read words it


def _compiled_reader(session: Session) -> bool:
    """Whether the session's parser reads usual frames with its venue's compiled scanner (so the loop's reader,
    the same code, gives what the parser would)."""
    name, scanned = session.venue.NAME, getattr(session.parser, "scanned", None)
    if scanned is None or name not in compiled_pump.VENUES:
        return False
    if name == "bitfinex":  # bound to the parser's channel map
        return getattr(scanned, "func", None) is scan.bitfinex and scanned.args == (session.parser.symbols,)
    return scanned is getattr(scan, name, None)
