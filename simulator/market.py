"""The simulated market of one venue: symbols, their trade ids and price paths.

Each symbol owns a counter of trade ids (consecutive; the ``skip`` fault jumps
it) and a cyclic table of quotes (price, size, side) indexed by ``id & QUOTE_MASK``,
so any trade id, past or future, has a fixed quote and a trade frame is filled
from pre-rendered bytes. The quote path is a seeded random walk: the same
symbol gives the same prices in every run.
"""
from __future__ import annotations

import functools
import random
import zlib
from typing import TYPE_CHECKING, NamedTuple

from simulator.stats import SymbolStats

if TYPE_CHECKING:
    from simulator.session import Subscription

QUOTES = 256  # quote table length (a power of two)
QUOTE_MASK = QUOTES - 1
ID_SPACING = 100_000_000  # symbol n's ids start at (n + 1) * ID_SPACING, so ids differ across symbols

# base asset -> (reference price, price decimals)
_REFERENCE = {"BTC": (60_000.0, 1), "XBT": (60_000.0, 1), "ETH": (3_000.0, 2), "SOL": (150.0, 3)}


class Quote(NamedTuple):
    price: str  # decimal text, e.g. "60012.5"
    size: str  # base-asset quantity, e.g. "0.01230000"
    contracts: str  # integer contract count (BitMEX, Deribit inverse USD)
    gross: str  # BitMEX grossValue (satoshis) for ``contracts`` at ``price``
    buy: bool  # True when the taker bought


def _reference(symbol: str) -> tuple[float, int]:
    upper = symbol.upper()
    for asset, reference in _REFERENCE.items():
        if asset in upper:
            return reference
    return 100.0, 4


def quote_table(venue: str, symbol: str) -> list[Quote]:
    """A deterministic random walk around the symbol's reference price, there and back
    (the second half retraces the first), so the cyclic table has no jump."""
    rng = random.Random(zlib.crc32(f"{venue}:{symbol}".encode()))
    price, decimals = _reference(symbol)
    step = price * 0.0002
    path = []
    gauss = rng.gauss
    for _ in range(QUOTES // 2):
        price = max(price + step * gauss(0.0, 1.0), step)
        path.append(price)
    texts = {price: f"{price:.{decimals}f}" for price in path}
    quotes = []
    # the draws of rng.uniform(0.0001, 0.5), rng.randint(1, 200) and rng.random(), in that order, made
    # directly (the same numbers, a third of the time: a universe of thousands of symbols starts in seconds)
    draw, below = rng.random, rng._randbelow
    for price in path + path[::-1]:
        size = max(round(0.0001 + (0.5 - 0.0001) * draw(), 8), 0.0001)
        contracts = 10 * (1 + below(200))
        quotes.append(Quote(texts[price], f"{size:.8f}", str(contracts),
                            str(round(contracts * 100_000_000 / price)), draw() < 0.5))
    return quotes


class MarketSymbol:
    """One symbol: its id counter, quotes, subscribers and stats."""

    def __init__(self, venue: str, name: str, index: int):
        self.name = name  # as the venue writes it
        self.venue = venue
        self.next_id = (index + 1) * ID_SPACING + 1
        self.stats = SymbolStats()
        self.subscriptions: list[Subscription] = []
        self.batch_index = 0  # position in the venue's cycle of trades-per-frame

    @functools.cached_property
    def quotes(self) -> list[Quote]:
        """The quote table, made when first used (a universe of thousands of symbols starts at once)."""
        return quote_table(self.venue, self.name)

    def take_ids(self, count: int) -> int:
        """Reserve ``count`` consecutive ids; returns the first."""
        first = self.next_id
        self.next_id = first + count
        self.stats.generated += count
        self.stats.last_id = self.next_id - 1
        return first

    def skip(self, count: int) -> None:
        """The next trade's id jumps by ``count`` (a gap the client can see)."""
        self.next_id += count
        self.stats.skipped += count

    def recent_ids(self, count: int) -> range:
        """The ids of the ``count`` trades before the next one (what a venue replays)."""
        return range(self.next_id - count, self.next_id)


class Market:
    """A venue's symbols, by name (exact, as the venue writes them); ``listed``: more symbols the venue's
    instrument list names as trading (simulator/instruments.py EXTRAS), served only to whoever subscribes them
    (no Poisson arrivals; in the stats once they traded), never in ``symbols``."""

    def __init__(self, venue: str, symbols: list[str], listed: list[str] | tuple = ()):
        self.symbols = {name: MarketSymbol(venue, name, index) for index, name in enumerate(symbols)}
        self.listed = {name: MarketSymbol(venue, name, len(symbols) + index)
                       for index, name in enumerate(listed) if name not in self.symbols}
        self._all = {**self.symbols, **self.listed}
        self._folded = {name.lower(): symbol for name, symbol in self._all.items()}
        self.version = 0  # bumped on every (un)subscribe (session.py): active() and readers() are cached by it
        self._cached = -1
        self._active: list[MarketSymbol] = []
        self._readers: list = []

    def find(self, name: str, ignore_case: bool = False) -> MarketSymbol | None:
        if ignore_case:
            return self._folded.get(name.lower())
        return self._all.get(name)

    def reported(self) -> dict[str, MarketSymbol]:
        """The symbols whose stats the venue reports: its own, and the listed ones that traded."""
        return {**self.symbols, **{name: s for name, s in self.listed.items() if s.stats.generated}}

    def active(self) -> list[MarketSymbol]:
        """Symbols with at least one subscriber, in a fixed order (do not change the list)."""
        self._refresh()
        return self._active

    def readers(self) -> list:
        """The connections subscribed to at least one symbol (do not change the list)."""
        self._refresh()
        return self._readers

    def _refresh(self) -> None:
        if self._cached != self.version:
            self._active = [symbol for symbol in self._all.values() if symbol.subscriptions]
            self._readers = list({sub.conn: None for symbol in self._active for sub in symbol.subscriptions})
            self._cached = self.version
