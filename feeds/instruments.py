"""Each venue's public instrument list: the REST requests that fetch it and the parsers of their answers.

``REQUESTS[venue](kinds)`` gives the paths (under the venue's REST base) that list the instruments of the
wanted kinds its feed can subscribe; ``PARSERS[venue](answer, path)`` turns one decoded JSON answer into
``Instrument``s: the symbol as the feed writes it, its quote currency (upper case, the venue's stablecoin
aliases read as their usual names: Bitfinex ``UST`` is USDT), its kind (KINDS) and whether it trades now.

Answers are untrusted: a wrong top-level shape is a ``ValueError`` naming what was expected; an entry that is
not what the venue documents (not an object, a field missing or of the wrong type, a symbol that is not
printable ASCII or is too long for the symbol directory) is skipped and counted by the caller, never raised.
The shapes are the venues' documented ones (Binance GET /api/v3/exchangeInfo, OKX /api/v5/public/instruments,
Coinbase /products, Kraken /0/public/AssetPairs, Bybit /v5/market/instruments-info, Bitfinex
/v2/conf/pub:list:pair:*, Bitstamp /api/v2/trading-pairs-info/, Gemini /v1/symbols, Deribit
/api/v2/public/get_instruments, BitMEX /api/v1/instrument/active); simulator/instruments.py serves the same.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

KINDS = ("spot", "perpetual", "future", "option")
MAX_SYMBOL_CHARS = 48  # the symbol directory's key room is smaller still; feeds/feed_command.check_symbols says


class Instrument(NamedTuple):
    symbol: str  # as the feed subscribes it
    quote: str  # upper case
    kind: str  # one of KINDS
    trading: bool


_ALIASES = {"UST": "USDT", "UDC": "USDC", "XBT": "BTC", "XXBT": "BTC", "ZUSD": "USD", "ZEUR": "EUR", "XDG": "DOGE"}


def _quote(text: str) -> str:
    text = text.upper()
    return _ALIASES.get(text, text)


def _text(entry: Any, key: str) -> str:
    value = entry[key]
    if type(value) is not str:
        raise TypeError(f"{key} is not a string")
    return value


def good_symbol(symbol: str) -> bool:
    return 0 < len(symbol) <= MAX_SYMBOL_CHARS and symbol.isascii() and symbol.isprintable() and "," not in symbol \
        and " " not in symbol


NOT_WANTED = ()  # what ``make`` returns for an entry the feed does not subscribe (an index, a combo): left out


def _each(items: Any, what: str, make: Callable[[Any], Instrument | tuple]) -> list[Instrument | None]:
    """``make`` over a list's entries; None for an entry that is not what the venue documents."""
    if type(items) is not list:
        raise ValueError(f"wants {what}, got {type(items).__name__}")
    result = []
    for entry in items:
        try:
            item = make(entry)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError, StopIteration):
            item = None
        if item != NOT_WANTED:
            result.append(item if item is None or good_symbol(item.symbol) else None)
    return result


def _field(answer: Any, *keys: str) -> Any:
    """``answer[k1][k2]...``; ValueError naming the path when a level is missing."""
    for depth, key in enumerate(keys):
        if type(answer) is not dict or key not in answer:
            raise ValueError(f"wants an object with {'.'.join(keys[:depth + 1])}")
        answer = answer[key]
    return answer


# -- one parser per venue ----------------------------------------------------------------------------------
def binance(answer: Any, path: str) -> list:
    def make(e):
        if e.get("isSpotTradingAllowed") is False:
            return NOT_WANTED
        return Instrument(_text(e, "symbol").upper(), _quote(_text(e, "quoteAsset")), "spot",
                          _text(e, "status") == "TRADING")
    return _each(_field(answer, "symbols"), "symbols: a list", make)


_OKX_KINDS = {"SPOT": "spot", "SWAP": "perpetual", "FUTURES": "future", "OPTION": "option"}


def okx(answer: Any, path: str) -> list:
    if _field(answer, "code") != "0":
        raise ValueError(f"error code {str(answer['code'])[:40]!r}: {str(answer.get('msg'))[:120]}")

    def make(e):
        inst, kind = _text(e, "instId"), _OKX_KINDS[_text(e, "instType")]
        quote = _text(e, "quoteCcy") if kind == "spot" else inst.split("-")[1]
        return Instrument(inst.upper(), _quote(quote), kind, _text(e, "state") == "live")
    return _each(_field(answer, "data"), "data: a list", make)


def coinbase(answer: Any, path: str) -> list:
    def make(e):
        trading = _text(e, "status") == "online" and e.get("trading_disabled") is not True
        return Instrument(_text(e, "id").upper(), _quote(_text(e, "quote_currency")), "spot", trading)
    return _each(answer, "a list of products", make)


_KRAKEN_TRADING = ("online", "post_only", "limit_only")


def kraken(answer: Any, path: str) -> list:
    errors = _field(answer, "error")
    if errors:
        raise ValueError(f"error {str(errors)[:160]}")
    pairs = _field(answer, "result")
    if type(pairs) is not dict:
        raise ValueError("wants result: an object of pairs")

    def make(e):  # the v2 WebSocket writes ISO codes: wsname XBT/USD is BTC/USD there
        base, quote = _text(e, "wsname").split("/")
        symbol = f"{_ALIASES.get(base.upper(), base.upper())}/{_quote(quote)}"
        return Instrument(symbol, _quote(quote), "spot", e.get("status", "online") in _KRAKEN_TRADING)
    return _each(list(pairs.values()), "result: pairs", make)


def bybit(answer: Any, path: str) -> list:
    if _field(answer, "retCode") != 0:
        raise ValueError(f"retCode {str(answer['retCode'])[:40]}: {str(answer.get('retMsg'))[:120]}")

    def make(e):
        return Instrument(_text(e, "symbol").upper(), _quote(_text(e, "quoteCoin")), "spot",
                          _text(e, "status") == "Trading")
    return _each(_field(answer, "result", "list"), "result.list: a list", make)


def bitfinex(answer: Any, path: str) -> list:
    if type(answer) is not list or len(answer) != 1:
        raise ValueError("wants [[pair, ...]]")
    kind = "perpetual" if path.endswith(":futures") else "spot"

    def make(pair):
        quote = pair.split(":")[1] if ":" in pair else pair[-3:]
        if kind == "perpetual":
            quote = quote.removesuffix("F0")
        return Instrument(f"t{pair.upper()}", _quote(quote), kind, True)  # the list holds the trading pairs only
    return _each(answer[0], "[[pair, ...]]", make)


def bitstamp(answer: Any, path: str) -> list:
    def make(e):
        return Instrument(_text(e, "url_symbol").lower(), _quote(_text(e, "name").split("/")[1]), "spot",
                          _text(e, "trading") == "Enabled")
    return _each(answer, "a list of pairs", make)


GEMINI_QUOTES = ("rlusd", "gusd", "usdt", "usdc", "usd", "eur", "gbp", "sgd", "dai", "btc", "eth")


def gemini(answer: Any, path: str) -> list:
    def make(symbol):  # /v1/symbols is names only: the quote is the known currency it ends with
        symbol = symbol.lower()
        kind = "perpetual" if symbol.endswith("perp") else "spot"
        stem = symbol.removesuffix("perp")
        quote = next(q for q in GEMINI_QUOTES if stem.endswith(q) and len(stem) > len(q))
        return Instrument(symbol, _quote(quote), kind, True)
    return _each(answer, "a list of symbols", make)


def deribit(answer: Any, path: str) -> list:
    def make(e):
        kind = _text(e, "kind")
        if kind == "future":
            kind = "perpetual" if e.get("settlement_period") == "perpetual" else "future"
        if kind not in KINDS:
            return NOT_WANTED  # combos
        return Instrument(_text(e, "instrument_name").upper(), _quote(_text(e, "quote_currency")), kind,
                          e.get("is_active") is True)
    return _each(_field(answer, "result"), "result: a list", make)


_BITMEX_KINDS = {"FFWCSX": "perpetual", "FFWCSF": "perpetual", "FFCCSX": "future", "IFXXXP": "spot"}


def bitmex(answer: Any, path: str) -> list:
    def make(e):
        kind = _BITMEX_KINDS.get(_text(e, "typ"))
        if kind is None:
            return NOT_WANTED  # indices and other non-tradable series
        return Instrument(_text(e, "symbol").upper(), _quote(_text(e, "quoteCurrency")), kind,
                          _text(e, "state") == "Open")
    return _each(answer, "a list of instruments", make)


PARSERS: dict[str, Callable[[Any, str], list]] = {
    "binance": binance, "okx": okx, "coinbase": coinbase, "kraken": kraken, "bybit": bybit,
    "bitfinex": bitfinex, "bitstamp": bitstamp, "gemini": gemini, "deribit": deribit, "bitmex": bitmex}

# -- what to ask: the kinds each feed subscribes, and the paths that list them -------------------------------
FEED_KINDS = {  # kinds one feed connection can take (Binance and Bybit feeds open the spot stream)
    "binance": ("spot",), "okx": ("spot", "perpetual", "future"), "coinbase": ("spot",), "kraken": ("spot",),
    "bybit": ("spot",), "bitfinex": ("spot", "perpetual"), "bitstamp": ("spot",), "gemini": ("spot", "perpetual"),
    "deribit": KINDS, "bitmex": ("spot", "perpetual", "future")}
_PATHS = {
    "binance": {"spot": "/api/v3/exchangeInfo"},
    "okx": {"spot": "/api/v5/public/instruments?instType=SPOT", "perpetual": "/api/v5/public/instruments?instType=SWAP",
            "future": "/api/v5/public/instruments?instType=FUTURES"},
    "coinbase": {"spot": "/products"},
    "kraken": {"spot": "/0/public/AssetPairs"},
    "bybit": {"spot": "/v5/market/instruments-info?category=spot"},
    "bitfinex": {"spot": "/v2/conf/pub:list:pair:exchange", "perpetual": "/v2/conf/pub:list:pair:futures"},
    "bitstamp": {"spot": "/api/v2/trading-pairs-info/"},
    "gemini": dict.fromkeys(("spot", "perpetual"), "/v1/symbols"),
    "deribit": dict.fromkeys(KINDS, "/api/v2/public/get_instruments?currency=any&expired=false"),
    "bitmex": dict.fromkeys(("spot", "perpetual", "future"), "/api/v1/instrument/active"),
}
REST_URLS = {  # each venue's public REST base
    "binance": "https://api.binance.com", "okx": "https://www.okx.com", "coinbase": "https://api.exchange.coinbase.com",
    "kraken": "https://api.kraken.com", "bybit": "https://api.bybit.com", "bitfinex": "https://api-pub.bitfinex.com",
    "bitstamp": "https://www.bitstamp.net", "gemini": "https://api.gemini.com", "deribit": "https://www.deribit.com",
    "bitmex": "https://www.bitmex.com"}


def paths(venue: str, kinds: tuple[str, ...]) -> list[str]:
    """The request paths that list ``kinds`` (ValueError for a kind the venue's feed does not take)."""
    offered = FEED_KINDS[venue]
    wrong = [kind for kind in kinds if kind not in offered]
    if wrong:
        raise ValueError(f"{venue}'s feed takes kind {', '.join(offered)}, not {', '.join(wrong)}")
    return list(dict.fromkeys(_PATHS[venue][kind] for kind in kinds))
