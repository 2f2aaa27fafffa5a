"""The venue registry: name -> venue module.

Every venue module is the same form, so the feed loop treats them alike:

- ``NAME``, ``URL`` (production), ``url_for(base_url, symbols)`` (the URL to open),
- ``DEFAULT_SYMBOLS`` (as the venue writes them), ``MAX_LIFETIME_S`` (the venue cuts
  connections older than this, or None),
- ``subscribe_messages(symbols)`` and ``on_connect_messages()`` (text frames to send),
- ``PING_TEXT`` / ``PING_INTERVAL_S`` (client text ping, or both None when the
  server keeps the socket alive) and ``STALE_AFTER_S`` (silence => dead socket),
- ``SEQ_IS_TRADE_ID``: True when ``Trade.seq`` is the numeric trade id itself (the tick's
  u64 trade id is then taken from it instead of parsing the text again),
- ``SYMBOL_CASE``: the venue's canonical symbol form, ``upper``, ``lower`` or ``prefix``
  (feeds/canonical.py): case and Unicode variants of a subscribed symbol become that symbol,
- ``Parser()``: per-connection state; ``parse(frame) -> list[Trade]`` returns the
  LIVE trades of one frame and raises ``FrameError`` for bad frames. Two outboxes
  the caller drains after each call: ``replies`` (text frames to send back, e.g.
  Deribit ``public/test``) and ``replayed`` (trades the venue replays on subscribe,
  flagged ``FLAG_SNAPSHOT``, never returned by ``parse``).
"""
from __future__ import annotations

from types import ModuleType

from feeds import binance, bitfinex, bitmex, bitstamp, bybit, coinbase, deribit, gemini, kraken, okx

VENUES: dict[str, ModuleType] = {
    module.NAME: module
    for module in (binance, okx, coinbase, kraken, bybit, bitfinex, bitstamp, gemini, deribit, bitmex)
}


def venue(name: str) -> ModuleType:
    """The module for ``name``; ``ValueError`` naming the known venues otherwise."""
    try:
        return VENUES[name]
    except KeyError:
        raise ValueError(f"unknown exchange {name!r}; known: {', '.join(sorted(VENUES))}") from None
