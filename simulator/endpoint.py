"""One simulated venue: its listening socket, market, connections, pacing and faults."""
from __future__ import annotations

import selectors
import socket
import time
from types import ModuleType

from simulator.clock import Clock
from simulator.connection import Connection
from feeds.wsframe import encode
from simulator.faults import KINDS, MALFORMED_VARIANTS, malformed_frame
from simulator.market import Market, MarketSymbol
from simulator.arrivals import Arrivals
from simulator.pacing import TokenBucket
from simulator.stats import VenueStats, venue_report


class Endpoint:
    """``venue`` is a module of simulator/venues (NAME, SYMBOLS, BATCH, Session)."""

    def __init__(self, venue: ModuleType, symbols: list[str], rate: float | None, host: str, port: int,
                 selector: selectors.BaseSelector, clock: Clock, heartbeat_scale: float = 1.0,
                 arrivals: tuple[int, float, float] | None = None):
        """``arrivals``: (seed, zipf, tick seconds) for Poisson arrivals (arrivals.py), None for the token bucket."""
        self.venue = venue
        self.name: str = venue.NAME
        from simulator.instruments import listed_extras

        self.market = Market(self.name, symbols, listed_extras(self.name))
        self.stats = VenueStats()
        self.host, self.port = host, port
        self.selector, self.clock = selector, clock
        self.heartbeat_scale = heartbeat_scale
        self.batch: tuple[int, ...] = venue.BATCH
        self.bucket = TokenBucket(rate, time.monotonic())
        self.connections: list[Connection] = []
        self.listener: socket.socket | None = None
        self.paused = False
        self.stalled_until = 0.0
        self.refused_until = 0.0
        self._turn = 0  # which active symbol gets the first of a tick's trades
        self.arrivals: Arrivals | None = None
        self._tick_s, self._last_tick = 0.0, 0.0
        self.blocked_s, self._blocked_since = 0.0, 0.0  # time trades waited for a slow reader
        if arrivals is not None:
            seed, zipf, self._tick_s = arrivals
            self.arrivals = Arrivals(self._event_rate(rate), len(self.market.symbols), seed, time.monotonic(), zipf)
            self._ranked = list(self.market.symbols.values())  # Zipf rank order: the venue's list order

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # -- sockets -------------------------------------------------------------------------------
    def listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, self._accept)

    def _unlisten(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None

    def _accept(self, mask: int) -> None:
        for _ in range(64):
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.stats.connections += 1
            conn = Connection(sock, self)
            self.connections.append(conn)
            if self.stalled_until:
                conn.suspend()

    def forget(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)

    def close(self) -> None:
        self._unlisten()
        for conn in list(self.connections):
            conn.drop()
            conn.finish()

    # -- trades --------------------------------------------------------------------------------
    def _blocked(self, active: list[MarketSymbol]) -> bool:
        """A subscriber still has queued bytes: the market waits for the slowest reader."""
        for conn in self.market.readers():
            if conn.outbox.added != conn.outbox.sent:
                return True
        return False

    def wait(self, now: float) -> float | None:
        """Seconds until this venue has trades to send; None when it waits for a socket or nothing."""
        if self.paused or self.stalled_until:
            return None
        active = self.market.active()
        if not active or self._blocked(active):
            return None
        if self.arrivals is not None:
            return max(self.arrivals.wait(now), self._last_tick + self._tick_s - now)
        return self.bucket.wait(now)

    def generate(self, now: float) -> None:
        """One tick: the bucket's trades, shared across the subscribed symbols, to every subscriber."""
        if self.paused or self.stalled_until:
            return
        active = self.market.active()
        if not active:
            return
        if self._blocked(active):
            self._blocked_since = self._blocked_since or now
            return
        if self._blocked_since:
            self.blocked_s += now - self._blocked_since
            self._blocked_since = 0.0
        if self.arrivals is not None:
            if now >= self._last_tick + self._tick_s:
                self._last_tick = now
                self._generate_arrivals(now)
            return
        allowed = self.bucket.take(now)
        if allowed <= 0:
            return
        values = self.clock.tick()
        share, extra = divmod(allowed, len(active))
        used = 0
        touched = set()
        chosen = enumerate(active)
        if not share:  # fewer trades than symbols (a large universe): visit only the ``extra`` that get one
            chosen = [(index, active[index]) for index in sorted((self._turn + offset) % len(active)
                                                                 for offset in range(extra))]
        for index, symbol in chosen:
            count = share + (1 if (index - self._turn) % len(active) < extra else 0)  # rotate the remainder
            if not count:
                continue
            sizes = self._frame_sizes(symbol, count)
            if sizes is not None:
                count = sum(sizes)
            first = symbol.take_ids(count)
            used += count
            counter = symbol.stats.add_live
            for sub in symbol.subscriptions:
                chunk, ends, trades = sub.live.render(first, count, sizes, values)
                sub.conn.outbox.add(chunk, ends, trades, counter)
                touched.add(sub.conn)
        self._turn += 1
        self.bucket.borrow(used - allowed)
        for conn in touched:
            conn.flush()

    def _generate_arrivals(self, now: float) -> None:
        """The events due now, each to its Zipf-picked symbol; on a venue that batches, an event is one
        frame of the venue's next trades-per-frame (else one trade). Unsubscribed symbols' events are not made."""
        events = self.arrivals.take(now)
        if not events:
            return
        per_symbol: dict[int, int] = {}
        for index in self.arrivals.pick(events):
            per_symbol[index] = per_symbol.get(index, 0) + 1
        values = self.clock.tick()
        batch = self.batch
        touched = set()
        for index in sorted(per_symbol):
            symbol = self._ranked[index]
            if not symbol.subscriptions:
                continue
            events = per_symbol[index]
            sizes = None
            count = events
            if len(batch) > 1 or batch[0] != 1:
                sizes = [batch[(symbol.batch_index + i) % len(batch)] for i in range(events)]
                symbol.batch_index += events
                count = sum(sizes)
            first = symbol.take_ids(count)
            counter = symbol.stats.add_live
            for sub in symbol.subscriptions:
                chunk, ends, trades = sub.live.render(first, count, sizes, values)
                sub.conn.outbox.add(chunk, ends, trades, counter)
                touched.add(sub.conn)
        for conn in touched:
            conn.flush()

    def _event_rate(self, rate: float | None) -> float:
        """Events per second that make ``rate`` trades per second (a venue that batches sends fewer frames)."""
        if not rate:
            raise ValueError("Poisson arrivals need a finite rate")
        return rate * len(self.batch) / sum(self.batch)

    def _frame_sizes(self, symbol: MarketSymbol, count: int) -> list[int] | None:
        """Trades per frame for ``count`` trades, from the venue's cycle (None: one each)."""
        batch = self.batch
        if len(batch) == 1 and batch[0] == 1:
            return None
        sizes = []
        total = 0
        while total < count:
            size = batch[symbol.batch_index % len(batch)]
            symbol.batch_index += 1
            sizes.append(size)
            total += size
        return sizes

    # -- timers --------------------------------------------------------------------------------
    def housekeeping(self, now: float) -> None:
        if self.stalled_until and now >= self.stalled_until:
            self.stalled_until = 0.0
            for conn in list(self.connections):
                conn.resume()
        if self.refused_until and now >= self.refused_until:
            try:
                self.listen()
                self.refused_until = 0.0
            except OSError:
                pass  # the port is busy for a moment: try again next time
        if not self.stalled_until:
            for conn in list(self.connections):
                conn.housekeeping(now)

    # -- control -------------------------------------------------------------------------------
    def set_rate(self, rate: float | None) -> None:
        self.bucket.set_rate(rate, time.monotonic())
        if self.arrivals is not None and rate:
            self.arrivals.set_rate(self._event_rate(rate), time.monotonic())

    def fault(self, kind: str, seconds: float = 0.0, count: int = 0, symbol: str | None = None,
              variants: list[str] | None = None, frames: list[str] | None = None,
              connection: int | None = None) -> dict:
        """Apply one fault now (see faults.py); returns what it touched (a drop of one ``connection``:
        also the symbols it carried)."""
        now = time.monotonic()
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        touched = len([conn for conn in self.connections if conn.is_open])
        if kind == "drop" and connection is not None:  # the n-th open connection, in the order they opened
            open_ = [conn for conn in self.connections if conn.is_open]
            self._require(type(connection) is int and 0 <= connection < len(open_),
                          f"drop: connection must be 0 to {len(open_) - 1}")
            conn = open_[connection]
            symbols = sorted({sub.symbol.name for sub in conn.session.subscriptions.values()})
            conn.drop()
            self.stats.fault_applied(kind)
            return {"venue": self.name, "kind": kind, "touched": 1, "symbols": symbols}
        if kind == "drop":
            for conn in list(self.connections):
                conn.drop()
        elif kind == "stall":
            self._require(seconds > 0, "stall needs seconds > 0")
            self.stalled_until = max(self.stalled_until, now + seconds)
            for conn in self.connections:
                conn.suspend()
                if conn.session is not None:
                    conn.session.shift(seconds)
        elif kind == "malformed":
            self._require(count > 0, "malformed needs count > 0")
            variants = list(variants or MALFORMED_VARIANTS)
            for variant in variants:
                self._require(variant in MALFORMED_VARIANTS, f"unknown malformed variant {variant!r}")
            values = self.clock.tick()
            for conn in [conn for conn in self.connections if conn.is_open]:
                for index in range(count):
                    frame = malformed_frame(variants[index % len(variants)], conn.session, values)
                    conn.send_frame(frame, self.stats.add_malformed)
                conn.flush()
        elif kind == "inject":  # hostile frames of a test's making (counted as malformed)
            self._require(bool(frames) and all(type(text) is str for text in frames), "inject needs frames: [text]")
            for conn in [conn for conn in self.connections if conn.is_open]:
                for text in frames:
                    conn.send_frame(encode(text.encode("utf-8", "surrogatepass")), self.stats.add_malformed)
                conn.flush()
        elif kind == "skip":
            self._require(count > 0, "skip needs count > 0")
            symbols = [self._symbol(symbol)] if symbol else list(self.market.symbols.values())
            for market_symbol in symbols:
                market_symbol.skip(count)
            touched = len(symbols)
        elif kind == "refuse":
            self._require(seconds > 0, "refuse needs seconds > 0")
            self._unlisten()
            self.refused_until = max(self.refused_until, now + seconds)
        self.stats.fault_applied(kind)
        return {"venue": self.name, "kind": kind, "touched": touched}

    def _symbol(self, name: str) -> MarketSymbol:
        symbol = self.market.find(name)
        self._require(symbol is not None, f"{self.name} has no symbol {name!r}")
        return symbol

    @staticmethod
    def _require(condition: bool, message: str) -> None:
        if not condition:
            raise ValueError(message)

    def report(self) -> dict:
        now = time.monotonic()
        return venue_report(
            self.stats, {name: symbol.stats for name, symbol in self.market.reported().items()},
            url=self.url, rate=self.bucket.describe(), paused=self.paused, blocked_s=round(self.blocked_s + (now - self._blocked_since if self._blocked_since else 0.0), 3),
            arrivals_skipped=round(self.arrivals.skipped) if self.arrivals is not None else 0,
            stalled=bool(self.stalled_until), refusing=bool(self.refused_until),
            open_connections=sum(conn.is_open for conn in self.connections),
            pending_bytes=sum(conn.outbox.pending for conn in self.connections),
            stall_left_s=round(max(self.stalled_until - now, 0.0), 3) if self.stalled_until else 0.0)
