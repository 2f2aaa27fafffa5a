"""A universe of N symbols spread over the venues, within each venue's per-connection limits.

A feed opens one connection per venue (it cannot yet open several), so each
venue gets at most what one connection may carry: Bitfinex 25 channels
(feeds/bitfinex.MAX_CHANNELS), Binance 1,024 streams, Bitstamp 1,024 channels,
OKX ~21,000 characters of subscription args (~450 symbols), and 1,024 for the
venues that document no limit. Within those caps the universe is spread
unevenly, like real listings (``SHARES``: Binance most, the derivatives venues
least); what a capped venue cannot take goes to the others by their shares.
Each venue lists its own symbols first (BTC, ETH, SOL: the most active, see
arrivals.py), then synthetic ones written the venue's way (``Z0001USDT``,
``tZ0001USD``, ``z0001usd``, ``Z0001-PERPETUAL``...).
"""
from __future__ import annotations

from simulator.venues import VENUES

SHARES = {"binance": 0.20, "okx": 0.15, "bybit": 0.15, "coinbase": 0.10, "kraken": 0.10, "bitfinex": 0.10,
          "gemini": 0.05, "bitstamp": 0.05, "bitmex": 0.05, "deribit": 0.05}
CAPS = {"bitfinex": 25, "okx": 450}  # one connection's limit where it is below DEFAULT_CAP
DEFAULT_CAP = 1024
_NAME = {  # synthetic symbol n, written the venue's way
    "binance": "Z{n:04d}USDT", "bitfinex": "tZ{n:04d}USD", "bitmex": "Z{n:04d}USD", "bitstamp": "z{n:04d}usd",
    "bybit": "Z{n:04d}USDT", "coinbase": "Z{n:04d}-USD", "deribit": "Z{n:04d}-PERPETUAL", "gemini": "z{n:04d}usd",
    "kraken": "Z{n:04d}/USD", "okx": "Z{n:04d}-USDT",
}


def counts(total: int, venues: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Symbols per venue: ``total`` split by SHARES, each within its cap."""
    caps = {venue: CAPS.get(venue, DEFAULT_CAP) for venue in venues}
    if total < len(venues):
        raise ValueError(f"{total} symbols are fewer than the {len(venues)} venues")
    if total > sum(caps.values()):
        raise ValueError(f"{total} symbols do not fit one connection per venue ({sum(caps.values())} at most)")
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
        if left < 0:  # rounding overshot: give back from the largest
            for venue in sorted(result, key=result.get, reverse=True)[:-left]:
                result[venue] -= 1
            left = 0
    return result


def universe(total: int, venues: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """venue -> its symbols, ``total`` in all (the venue's own symbols first)."""
    result = {}
    for venue, count in counts(total, venues).items():
        own = list(VENUES[venue].SYMBOLS)[:count]
        synthetic = [_NAME[venue].format(n=n) for n in range(1, count - len(own) + 1)]
        result[venue] = tuple(own + synthetic)
    return result
