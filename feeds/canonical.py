"""A venue's canonical symbol form, so case and Unicode variants of one symbol are one symbol.

Each venue module names its case rule (``SYMBOL_CASE``): ``upper`` (BTCUSDT,
BTC-USD, BTC/USD), ``lower`` (btcusd: Bitstamp, Gemini) or ``prefix`` (Bitfinex:
a lower-case ``t``/``f`` then upper case, tBTCUSD). The text is first put in
Unicode NFKC form, so full-width letters, ligatures and other compatibility
forms of the same characters compare equal.
"""
from __future__ import annotations

import unicodedata

CASES = ("upper", "lower", "prefix")


def canonical_symbol(case: str, symbol: str) -> str:
    """``symbol`` in NFKC form and the venue's case (``case``: one of CASES)."""
    if not symbol.isascii():
        symbol = unicodedata.normalize("NFKC", symbol)
    if case == "upper":
        return symbol.upper()
    if case == "lower":
        return symbol.lower()
    if case == "prefix":
        return symbol[:1].lower() + symbol[1:].upper()
    raise ValueError(f"unknown symbol case {case!r}; known: {', '.join(CASES)}")
