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
  flagged ``FLAG_SNAPSHOT``, never returned by ``parse``). The default protocols' ``parse`` has a
  hot path for the usual trade frame (fields of the usual type and range, built inline) and
  ``parse_careful``, the field-by-field path it takes on any doubt: the same trades or the same
  error (tests/unit/test_parse_fast_paths.py; Binance's hot path is inside ``parse``).

A venue with more than one protocol lists them in ``PROTOCOLS`` (the first is the default, the one
in ``VENUES``); each alternative module has the same form, the same ``NAME`` and a ``URL_HINT``: a URL
whose host or path contains it picks that module (Coinbase: ``exchange`` = the Exchange ws-feed
``matches``, ``advanced`` = Advanced Trade ``market_trades``).
"""
from __future__ import annotations

from types import ModuleType
from urllib.parse import urlsplit

from feeds import binance, bitfinex, bitmex, bitstamp, bybit, coinbase, coinbase_advanced, deribit, gemini, kraken, okx

VENUES: dict[str, ModuleType] = {
    module.NAME: module
    for module in (binance, okx, coinbase, kraken, bybit, bitfinex, bitstamp, gemini, deribit, bitmex)
}


PROTOCOLS: dict[str, dict[str, ModuleType]] = {"coinbase": {"exchange": coinbase, "advanced": coinbase_advanced}}


def venue(name: str, protocol: str | None = None, url: str | None = None) -> ModuleType:
    """The module for ``name``: ``protocol`` if given, else the one ``url`` names (``URL_HINT`` in its host or
    path), else the default. ``ValueError`` naming the known venues or protocols otherwise."""
    try:
        default = VENUES[name]
    except KeyError:
        raise ValueError(f"unknown exchange {name!r}; known: {', '.join(sorted(VENUES))}") from None
    protocols = PROTOCOLS.get(name)
    if protocols is None:
        if protocol is not None:
            raise ValueError(f"{name} has one protocol; --protocol is for {', '.join(PROTOCOLS)}")
        return default
    if protocol is None:
        parts = urlsplit(url or "")
        where = f"{parts.hostname or ''} {parts.path}"
        return next((module for module in protocols.values() if getattr(module, "URL_HINT", None)
                     and module.URL_HINT in where), default)
    if protocol not in protocols:
        raise ValueError(f"unknown {name} protocol {protocol!r}; known: {', '.join(protocols)}")
    return protocols[protocol]
