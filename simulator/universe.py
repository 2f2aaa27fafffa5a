"""A universe of N symbols spread over the venues, unevenly like real listings.

A feed spreads its symbols over as many connections as the venue's limits need (feeds/connection_limits.py), so
a venue's share is bounded only where the venue caps its connections too (Deribit: 32 of 500 channels). The
shares (``SHARES``) follow the venues' listings: Binance most (at the seed's 2,378 symbols, 1,094: more than one
connection's 1,024 streams), the derivatives venues least; what a capped venue cannot take goes to the others
by their shares. Each venue lists its own symbols first (BTC, ETH, SOL: the most active, see arrivals.py), then
synthetic ones written the venue's way (``Z0001USDT``, ``tZ0001USD``, ``z0001usd``, ``Z0001-PERPETUAL``...).
"""
from __future__ import annotations

from simulator.venues import VENUES

SHARES = {"binance": 0.46, "okx": 0.12, "bybit": 0.10, "coinbase": 0.08, "kraken": 0.08, "bitfinex": 0.04,
          "bitstamp": 0.04, "gemini": 0.03, "bitmex": 0.03, "deribit": 0.02}
_NAME = {  # synthetic symbol n, written the venue's way
    "binance": "Z{n:04d}USDT", "bitfinex": "tZ{n:04d}USD", "bitmex": "Z{n:04d}USD", "bitstamp": "z{n:04d}usd",
    "bybit": "Z{n:04d}USDT", "coinbase": "Z{n:04d}-USD", "deribit": "Z{n:04d}-PERPETUAL", "gemini": "z{n:04d}usd",
    "kraken": "Z{n:04d}/USD", "okx": "Z{n:04d}-USDT",
}
MAX_PER_VENUE = 9999  # the synthetic names' four digits


def cap(venue: str) -> int:
    """The most symbols a feed of ``venue`` takes: its connection cap times a connection's symbols."""
    from feeds.connection_limits import LIMITS

    limits = LIMITS[venue]
    return min(MAX_PER_VENUE, limits.max_connections * limits.per_connection if limits.max_connections
               else MAX_PER_VENUE)


def counts(total: int, venues: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Symbols per venue: ``total`` split by SHARES, each within its cap."""
    caps = {venue: cap(venue) for venue in venues}
    if total < len(venues):
        raise ValueError(f"{total} symbols are fewer than the {len(venues)} venues")
    if total > sum(caps.values()):
        raise ValueError(f"{total} symbols do not fit these venues' feeds ({sum(caps.values())} at most)")
    result = {venue: 0 for venue in venues}
    left, open_venues = total, list(venues)
    while left > 0:
        weight = sum(SHARES[venue] for venue in open_venues)
        for venue in list(open_venues):
            share = max(1, round(left * SHARES[venue] / weight))
            take = min(share, caps[venue] - result[venue])
            result[venue] += take
            if result[venue] >= caps[venue]:
                open_venues.remove(venue)
        left = total - sum(result.values())
        while left < 0:  # rounding overshot: give back from the largest, leaving every venue one
            largest = max(result, key=result.get)
            result[largest] -= 1
            left += 1
    return result


def universe(total: int, venues: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """venue -> its symbols, ``total`` in all (the venue's own symbols first)."""
    result = {}
    for venue, count in counts(total, venues).items():
        own = list(VENUES[venue].SYMBOLS)[:count]
        synthetic = [_NAME[venue].format(n=n) for n in range(1, count - len(own) + 1)]
        result[venue] = tuple(own + synthetic)
    return result
