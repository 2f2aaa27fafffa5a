"""Simulated venues: one module per exchange, each a filled-in form.

A venue module has ``NAME``, ``SYMBOLS`` (the default market, written as the
venue writes symbols), ``BATCH`` (the cycle of trades per live frame; ``(1,)``
when the venue sends one trade per frame), its ``TradeTemplate``s and a
``Session`` subclass (simulator/session.py) for requests and heartbeats. A venue serving
two protocols on one endpoint also has ``session_class(path)`` (Coinbase: Exchange ws-feed and
Advanced Trade, simulator/venues/coinbase_advanced.py, which is not a venue of its own here).
"""
from __future__ import annotations

from types import ModuleType

from simulator.venues import (binance, bitfinex, bitmex, bitstamp, bybit, coinbase, deribit, gemini, kraken,
                                    okx)

VENUES: dict[str, ModuleType] = {
    module.NAME: module
    for module in (binance, okx, coinbase, kraken, bybit, bitfinex, bitstamp, gemini, deribit, bitmex)
}
