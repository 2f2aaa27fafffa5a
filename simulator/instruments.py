"""Each venue's public instrument list, as the venue's REST endpoint answers it, for the simulator's universe.

``answer(venue, path, symbols)`` is the JSON body for a GET of ``path`` (None: not an instrument-list path of
that venue): the venue's documented shape (feeds/instruments.py reads it) listing the served ``symbols`` as
trading, then ``EXTRAS``: a few instruments a filter must leave out (another quote currency, a derivative, a
halted one). The WebSocket side serves the extras that trade to whoever subscribes them (simulator/market.py
``listed``), as the venue would, so ``"all"`` works against the simulator too.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import orjson

_QUOTES = ("USDT", "USDC", "USD", "EUR", "BTC")

# symbol, quote, kind, trading: listed after the universe (those that trade are served when subscribed)
EXTRAS = {
    "binance": [("ETHBTC", "BTC", "spot", True), ("ZHALTUSDT", "USDT", "spot", False)],
    "okx": [("ETH-BTC", "BTC", "spot", True), ("BTC-USD-261225", "USD", "future", True),
            ("ZHALT-USDT", "USDT", "spot", False)],
    "coinbase": [("ETH-BTC", "BTC", "spot", True), ("ZHALT-USD", "USD", "spot", False)],
    "kraken": [("ETH/EUR", "EUR", "spot", True), ("ZHALT/USD", "USD", "spot", False)],
    "bybit": [("ETHBTC", "BTC", "spot", True), ("ZHALTUSDT", "USDT", "spot", False)],
    "bitfinex": [("tETHBTC", "BTC", "spot", True), ("tBTCF0:USTF0", "USDT", "perpetual", True)],
    "bitstamp": [("ethbtc", "BTC", "spot", True), ("zhaltusd", "USD", "spot", False)],
    "gemini": [("ethbtc", "BTC", "spot", True), ("btcgusdperp", "GUSD", "perpetual", True)],
    "deribit": [("BTC-26DEC26", "USD", "future", True), ("BTC-26DEC26-100000-C", "USD", "option", True),
                ("ZHALT-PERPETUAL", "USD", "perpetual", False)],
    "bitmex": [("XBTUSDT", "USDT", "perpetual", True), ("XBTZ26", "USD", "future", True),
               ("ZHALTUSD", "USD", "perpetual", False)],
}


def listed_extras(venue: str) -> list[str]:
    """The extras that trade: listed, and served when subscribed."""
    return [symbol for symbol, quote, kind, trading in EXTRAS[venue] if trading]


def split(venue: str, symbol: str) -> tuple[str, str, str]:
    """(base, quote, kind) of a served symbol written the venue's way."""
    upper = symbol.upper()
    if venue == "deribit":
        return upper.split("-")[0], "USD", "perpetual" if upper.endswith("-PERPETUAL") else "future"
    if venue == "okx":
        parts = upper.split("-")
        return parts[0], parts[1], "perpetual" if upper.endswith("-SWAP") else "spot"
    for mark in ("-", "/", ":"):
        if mark in upper:
            base, quote = (upper[1:] if venue == "bitfinex" else upper).split(mark)[:2]
            return base, quote, "spot"
    if venue == "bitfinex":
        upper = upper[1:]
    quote = next((q for q in _QUOTES if upper.endswith(q) and len(upper) > len(q)), upper[-3:])
    kind = "perpetual" if venue == "bitmex" else "spot"
    return upper[:-len(quote)], quote, kind


def _listing(venue: str, symbols: list[str]) -> list[tuple[str, str, str, str, bool]]:
    """(symbol, base, quote, kind, trading) for the served symbols, then the extras."""
    served = [(s, *split(venue, s), True) for s in symbols]
    extras = [(s, split(venue, s)[0] if kind == "spot" else s.split("-")[0], quote, kind, trading)
              for s, quote, kind, trading in EXTRAS[venue] if s not in symbols]
    return served + extras


_OKX_TYPES = {"SPOT": "spot", "SWAP": "perpetual", "FUTURES": "future"}
_BITMEX_TYP = {"perpetual": "FFWCSX", "future": "FFCCSX", "spot": "IFXXXP"}


def answer(venue: str, path: str, symbols: list[str]) -> bytes | None:
    """The JSON body of the venue's instrument list at ``path`` (its query included); None for another path."""
    url = urlsplit(path)
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    rows = _listing(venue, symbols)
    route = url.path.rstrip("/") or "/"
    body = _BODIES.get((venue, route))
    return None if body is None else orjson.dumps(body(rows, query))


def _binance(rows, query):
    return {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [], "symbols": [
        {"symbol": s, "status": "TRADING" if trading else "BREAK", "baseAsset": base, "baseAssetPrecision": 8,
         "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
         "icebergAllowed": True, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "filters": [],
         "permissions": [], "permissionSets": [["SPOT"]]}
        for s, base, quote, kind, trading in rows if kind == "spot"]}


def _okx(rows, query):
    wanted = _OKX_TYPES.get(query.get("instType", ""))
    if wanted is None:
        return {"code": "51000", "msg": "Parameter instType error", "data": []}
    kinds = {v: k for k, v in _OKX_TYPES.items()}
    return {"code": "0", "msg": "", "data": [
        {"instType": kinds[kind], "instId": s, "uly": "" if kind == "spot" else f"{base}-{quote}",
         "baseCcy": base if kind == "spot" else "", "quoteCcy": quote if kind == "spot" else "",
         "settleCcy": "" if kind == "spot" else quote, "ctValCcy": "" if kind == "spot" else base,
         "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001", "state": "live" if trading else "suspend"}
        for s, base, quote, kind, trading in rows if kind == wanted]}


def _coinbase(rows, query):
    return [{"id": s, "base_currency": base, "quote_currency": quote, "quote_increment": "0.01",
             "base_increment": "0.00000001", "display_name": f"{base}/{quote}", "min_market_funds": "1",
             "margin_enabled": False, "post_only": False, "limit_only": False, "cancel_only": False,
             "status": "online" if trading else "delisted", "status_message": "", "trading_disabled": not trading,
             "fx_stablecoin": False, "auction_mode": False}
            for s, base, quote, kind, trading in rows]


def _kraken(rows, query):
    iso = {"BTC": "XBT", "DOGE": "XDG"}  # the REST list writes v1 names; the v2 WebSocket writes ISO codes
    return {"error": [], "result": {
        f"{iso.get(base, base)}{quote}": {
            "altname": f"{iso.get(base, base)}{quote}", "wsname": f"{iso.get(base, base)}/{quote}",
            "aclass_base": "currency", "base": base, "aclass_quote": "currency", "quote": f"Z{quote}",
            "lot": "unit", "pair_decimals": 1, "lot_decimals": 8, "lot_multiplier": 1,
            "status": "online" if trading else "cancel_only"}
        for s, base, quote, kind, trading in rows}}


def _bybit(rows, query):
    category = query.get("category", "")
    items = [{"symbol": s, "baseCoin": base, "quoteCoin": quote, "innovation": "0",
              "status": "Trading" if trading else "Closed", "marginTrading": "none"}
             for s, base, quote, kind, trading in rows] if category == "spot" else []
    if category not in ("spot", "linear", "inverse", "option"):
        return {"retCode": 10001, "retMsg": "params error: category", "result": {}, "retExtInfo": {}, "time": 0}
    return {"retCode": 0, "retMsg": "OK", "result": {"category": category, "list": items, "nextPageCursor": ""},
            "retExtInfo": {}, "time": 0}


def _bitfinex(kind):
    return lambda rows, query: [[s[1:] for s, base, quote, k, trading in rows if k == kind and trading]]


def _bitstamp(rows, query):
    return [{"name": f"{base}/{quote}", "url_symbol": s, "base_decimals": 8, "counter_decimals": 2,
             "instant_order_counter_decimals": 2, "minimum_order": f"10 {quote}",
             "trading": "Enabled" if trading else "Disabled", "instant_and_market_orders": "Enabled",
             "description": f"{base} / {quote}"}
            for s, base, quote, kind, trading in rows]


def _gemini(rows, query):
    return [s for s, base, quote, kind, trading in rows if trading]  # names only; closed ones are not listed


def _deribit(rows, query):
    return {"jsonrpc": "2.0", "result": [
        {"instrument_name": s, "kind": "future" if kind in ("perpetual", "future") else kind,
         "settlement_period": "perpetual" if kind == "perpetual" else "month", "base_currency": base,
         "quote_currency": quote, "counter_currency": quote, "settlement_currency": base, "is_active": trading,
         "tick_size": 0.5, "contract_size": 10, "instrument_type": "reversed"}
        for s, base, quote, kind, trading in rows], "usIn": 0, "usOut": 0, "usDiff": 0, "testnet": False}


def _bitmex(rows, query):
    return [{"symbol": s, "rootSymbol": base, "state": "Open" if trading else "Unlisted", "typ": _BITMEX_TYP[kind],
             "underlying": base, "quoteCurrency": quote, "settlCurrency": "XBt", "tickSize": 0.5}
            for s, base, quote, kind, trading in rows]


_BODIES = {
    ("binance", "/api/v3/exchangeInfo"): _binance, ("okx", "/api/v5/public/instruments"): _okx,
    ("coinbase", "/products"): _coinbase, ("kraken", "/0/public/AssetPairs"): _kraken,
    ("bybit", "/v5/market/instruments-info"): _bybit,
    ("bitfinex", "/v2/conf/pub:list:pair:exchange"): _bitfinex("spot"),
    ("bitfinex", "/v2/conf/pub:list:pair:futures"): _bitfinex("perpetual"),
    ("bitstamp", "/api/v2/trading-pairs-info"): _bitstamp, ("gemini", "/v1/symbols"): _gemini,
    ("deribit", "/api/v2/public/get_instruments"): _deribit, ("bitmex", "/api/v1/instrument/active"): _bitmex,
}
