"""Hostile frames for the feed: a seeded mutator, good simulator frames, the issue's poison frames,
and an offline feed session (the real Session and TickWriter, a fake socket and ring).

``Mutator(seed).mutate(frame)`` applies one mutation: byte flips, truncation,
a JSON value swapped for another type or an extreme (huge and negative numbers,
digit text beyond any int, odd Unicode, NaN text), deep nesting, duplicated
keys, case and Unicode variants of text; a share of frames pass unchanged.
"""
from __future__ import annotations

import json
import random
import time

import numpy as np

from feeds.events import RateLimitedLog
from feeds.metrics import FeedMetrics
from feeds.plausible import Limits
from feeds.session import Session
from feeds.ticks import TickWriter
from feeds.trade import Trade
from feeds.venues import venue
from shm.records import TICK
from shm.symbols import SymbolDirectoryFull
from simulator.clock import Clock
from simulator.market import Market
from simulator.venues import VENUES as SIMULATED
from simulator.venues import coinbase_advanced as simulated_coinbase_advanced

# a venue's other protocols (feeds/venues.py PROTOCOLS), fuzzed under a key of their own:
# key -> (venue, protocol, simulated protocol module)
VARIANTS = {"coinbase-advanced": ("coinbase", "advanced", simulated_coinbase_advanced)}


def feed_module(key: str):
    """The feed's venue module for a venue name or a ``VARIANTS`` key."""
    return venue(*VARIANTS[key][:2]) if key in VARIANTS else venue(key)


def exchange_of(key: str) -> str:
    return VARIANTS[key][0] if key in VARIANTS else key

# the $names a venue's simulator session binds when a client subscribes (as tests/unit/test_simulator_templates.py)
BIND_NAMES = {"binance": {"stream": "btcusdt@trade", "unit": "ms"}, "bitfinex": {"chan": "17"},
              "deribit": {"channel": "trades.BTC-PERPETUAL.100ms"}}
BITFINEX_SUBSCRIBED = '{"event":"subscribed","channel":"trades","chanId":17,"symbol":"tBTCUSD","pair":"BTCUSD"}'

EXTREMES = (
    None, True, False, 0, -1, -(2 ** 63), 2 ** 63, 2 ** 64 - 1, 10 ** 30, 1.8e308, 5e-324, -0.0, 1e-300, 3.5,
    "", "²", "１２３", "٣", "9" * 25, "9" * 5000, "-5", "NaN", "inf", "1e999", "0x10", "1_000", " 7", "\u0000",
    "\ud7ff\ue000", "BTC\u200bUSDT", "ＢＴＣＵＳＤＴ", "x" * 80, "ß" * 40, "2999-12-31T23:59:59.999999999Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "99999999999.999999999",
    [], {}, [1, 2], {"a": 1},
)
_TEN_YEARS_NS = 10 * 365 * 86400 * 10 ** 9


def _leaves(node: object, path: tuple = ()) -> list[tuple]:
    """Paths of every value in a JSON tree (containers too)."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _leaves(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _leaves(value, path + (index,))
    return found


def _replace(tree: object, path: tuple, value: object) -> object:
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def _dumps(tree: object) -> bytes:
    try:
        return json.dumps(tree, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except RecursionError:
        return b"[" * 3000 + b"]" * 3000


class Mutator:
    """Seeded frame mutations; the same seed gives the same frames."""

    def __init__(self, seed: int, unchanged_share: float = 0.1):
        self.rng = random.Random(seed)
        self.unchanged_share = unchanged_share
        self.mutations = (self.flip, self.truncate, self.swap, self.swap, self.swap, self.swap_text, self.nest,
                          self.duplicate_key, self.time_shift)

    def mutate(self, frame: bytes | str) -> bytes:
        frame = frame.encode() if isinstance(frame, str) else bytes(frame)
        if self.rng.random() < self.unchanged_share:
            return frame
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            frame = self.rng.choice(self.mutations)(frame)
        return frame

    def flip(self, frame: bytes) -> bytes:
        data = bytearray(frame)
        for _ in range(self.rng.randint(1, 4)):
            if data:
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
        return bytes(data)

    def truncate(self, frame: bytes) -> bytes:
        return frame[: self.rng.randrange(len(frame) + 1)]

    def _tree(self, frame: bytes):
        try:
            return json.loads(frame)
        except (ValueError, RecursionError):  # not JSON, or nested beyond Python's recursion limit
            return None

    def swap(self, frame: bytes) -> bytes:
        """One JSON value (scalar or container) swapped for an extreme of any type."""
        tree = self._tree(frame)
        if tree is None:
            return self.flip(frame)
        path = self.rng.choice(_leaves(tree))
        return _dumps(_replace(tree, path, self.rng.choice(EXTREMES)))

    def swap_text(self, frame: bytes) -> bytes:
        """A text value in another case, full-width, with a zero-width space, or cut."""
        tree = self._tree(frame)
        texts = [path for path in _leaves(tree) if isinstance(_get(tree, path), str)] if tree is not None else []
        if not texts:
            return self.truncate(frame)
        path = self.rng.choice(texts)
        text = _get(tree, path)
        variant = self.rng.choice((text.lower(), text.upper(), text.swapcase(), text[: len(text) // 2],
                                   "".join(chr(0xFEE0 + ord(c)) if "!" <= c <= "~" else c for c in text),
                                   text + "\u200b", text * 40))
        return _dumps(_replace(tree, path, variant))

    def nest(self, frame: bytes) -> bytes:
        depth = self.rng.choice((10, 200, 1000, 5000))
        tree = self._tree(frame)
        if tree is None or not _leaves(tree)[1:]:
            return b"[" * depth + frame + b"]" * depth
        path = self.rng.choice(_leaves(tree)[1:])
        text = _dumps(_replace(tree, path, "@@NEST@@"))
        return text.replace(b'"@@NEST@@"', b"[" * depth + b"1" + b"]" * depth)

    def duplicate_key(self, frame: bytes) -> bytes:
        """``{"k":v`` becomes ``{"k":<extreme>,"k":v`` (or the duplicate last) at one object."""
        starts = [index for index, byte in enumerate(frame) if byte == ord("{")]
        if not starts:
            return self.flip(frame)
        start = self.rng.choice(starts)
        end = frame.find(b":", start)
        if end < 0:
            return self.flip(frame)
        key = frame[start + 1 : end]
        extra = key + b":" + json.dumps(self.rng.choice(EXTREMES)).encode() + b","
        return frame[: start + 1] + extra + frame[start + 1 :]

    def time_shift(self, frame: bytes) -> bytes:
        """Integers that look like epoch times (s, ms, us, ns) moved a decade ahead, to 0 or negative."""
        tree = self._tree(frame)
        if tree is None:
            return self.flip(frame)
        shift = self.rng.choice(("ahead", "zero", "negative", "overflow"))
        for path in _leaves(tree):
            value = _get(tree, path)
            if type(value) is int and _epoch_unit(value):
                new = {"ahead": value + _TEN_YEARS_NS // _epoch_unit(value), "zero": 0, "negative": -value,
                       "overflow": value * 10 ** 12}[shift]
                _replace(tree, path, new)
        return _dumps(tree)


def _get(tree: object, path: tuple) -> object:
    for key in path:
        tree = tree[key]
    return tree


# -- good frames from the simulator's templates -------------------------------------------------------------
def good_frames(name: str, count: int, now_ns: int | None = None) -> tuple[list[str], list[bytes], str, int]:
    """(setup frames, ``count`` one-trade-or-more live frames with consecutive ids, the symbol, trades in them)."""
    module = VARIANTS[name][2] if name in VARIANTS else SIMULATED[name]
    symbol = next(iter(Market(exchange_of(name), list(module.SYMBOLS)).symbols.values()))
    template = module.COMBINED["trade"] if name == "binance" else module.LIVE
    bound = template.bind(symbol, **BIND_NAMES.get(name, {}))
    values = Clock().tick(now_ns or time.time_ns())
    sizes = None if module.BATCH == (1,) else [module.BATCH[i % len(module.BATCH)] for i in range(count)]
    trades = count if sizes is None else sum(sizes)
    chunk, _, _ = bound.render(symbol.take_ids(trades), trades, sizes, values)
    frames = [payload for _, payload in _payloads(chunk)]
    setup = [BITFINEX_SUBSCRIBED] if name == "bitfinex" else []
    return setup, frames, symbol.name, trades


def _payloads(chunk: bytes) -> list[tuple[int, bytes]]:
    frames, index = [], 0
    while index < len(chunk):
        length, offset = chunk[index + 1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(chunk[index + 2:index + 4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(chunk[index + 2:index + 10], "big"), 10
        frames.append((chunk[index] & 0x0F, chunk[index + offset:index + offset + length]))
        index += offset + length
    return frames


def poison_frames(name: str, good: bytes, symbol: str) -> list[bytes]:
    """The issue's killers, made from one good frame of ``name`` (for ``symbol``): every field that holds the
    trade id, the time, the price, the size or the symbol in turn takes a value the feed must refuse."""
    parser = feed_module(name).Parser()
    if name == "bitfinex":
        parser.parse(BITFINEX_SUBSCRIBED)
    trade = Trade._make(parser.parse(good)[0])
    tree = json.loads(good)
    roles = {"trade_id": [], "time": [], "price": [], "size": [], "symbol": []}
    for path in _leaves(tree)[1:]:
        value = _get(tree, path)
        if isinstance(value, (dict, list)) or isinstance(value, bool):
            continue
        text = str(value)
        if text == trade.trade_id:
            roles["trade_id"].append(path)
        elif isinstance(value, str) and value == trade.symbol:
            roles["symbol"].append(path)
        elif _is_time(value, trade.ts_ns):
            roles["time"].append(path)
        elif _number(value) == trade.price:
            roles["price"].append(path)
        elif _number(value) is not None and abs(_number(value)) == trade.size:
            roles["size"].append(path)
    swaps = {
        "trade_id": ["²", "9" * 4400, "１２３", 10 ** 30, -7, None],
        "time": [2 ** 63, 10 ** 19, "9" * 19, "9" * 5000, 0, -1, _shifted(tree, roles["time"], _TEN_YEARS_NS),
                 "2999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", 1.5e18],
        "price": [1.8e308, 5e-324, "1.8e308", "5e-324", "0", "-1", "NaN", "1e999", True],
        "size": [1.8e308, 5e-324, "1.8e308", "5e-324", "0", "NaN", []],
        "symbol": ["X" * 80, "ß" * 40, 12, None, ["BTC"]],
    }
    frames = []
    for role, paths in roles.items():
        for value in swaps[role]:
            if not paths or value is _SKIP:
                continue
            copy = json.loads(good)
            for path in paths:
                _replace(copy, path, _time_like(_get(copy, path), value) if role == "time" else value)
            frames.append(_dumps(copy))
    frames += [b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, good[: len(good) // 2],
               good.replace(b"{", b'{"e":{},"e":[],', 1)]
    return frames


_SKIP = object()


def _shifted(tree, paths, delta_ns):
    return ("shift", delta_ns) if paths else _SKIP


def _time_like(old: object, value: object) -> object:
    """``value`` in the form of the field it replaces (a shift keeps the field's unit and type)."""
    if isinstance(value, tuple):
        _, delta_ns = value
        if isinstance(old, int):
            unit = _unit(old)
            return old + delta_ns // unit
        if isinstance(old, str) and old.isdigit():
            return str(int(old) + delta_ns // _unit(int(old)))
        if isinstance(old, str) and "T" in old:
            return str(int(old[:4]) + 10) + old[4:]
        if isinstance(old, str):  # decimal seconds
            whole, _, fraction = old.partition(".")
            return f"{int(whole) + delta_ns // 10 ** 9}.{fraction}" if fraction else str(int(whole) + delta_ns // 10 ** 9)
    return value


def _epoch_unit(value: int) -> int | None:
    """ns per unit if ``value`` reads as an epoch time of 2001-2128 in s, ms, us or ns; else None."""
    for unit in (10 ** 9, 10 ** 6, 10 ** 3, 1):
        if 1e18 <= value * unit <= 5e18:
            return unit
    return None


def _unit(value: int) -> int:
    return _epoch_unit(value) or 1


def _number(value: object) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _is_time(value: object, ts_ns: int) -> bool:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        return any(abs(number * unit - ts_ns) < 10 ** 9 for unit in (10 ** 9, 10 ** 6, 10 ** 3, 1))
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        return value[:4] == time.strftime("%Y", time.gmtime(ts_ns / 1e9))
    if isinstance(value, str) and "." in value and value.replace(".", "", 1).isdigit():
        return abs(float(value) * 1e9 - ts_ns) < 1e9
    return False


# -- an offline feed session: the real frame handling, no socket ---------------------------------------------
class FakeRing:
    """Takes every pushed batch (a copy), like a ring with room."""

    def __init__(self) -> None:
        self.head = 0
        self.batches: list[np.ndarray] = []

    def push_batch(self, records: np.ndarray) -> int:
        self.batches.append(records.copy())
        return len(records)

    def records(self) -> np.ndarray:
        return np.concatenate(self.batches) if self.batches else np.zeros(0, TICK)


class FakeDirectory:
    """Symbol ids from 1; full (``SymbolDirectoryFull``) after ``capacity`` symbols."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity, self.ids = capacity, {}

    def id_of(self, exchange: str, symbol: str) -> int:
        key = f"{exchange}:{symbol}"
        if key not in self.ids:
            if len(self.ids) >= self.capacity:
                raise SymbolDirectoryFull(f"fake directory holds {self.capacity} symbols and is full")
            self.ids[key] = len(self.ids) + 1
        return self.ids[key]


class FakeConnection:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_text(self, text: str) -> None:
        self.sent.append(text)

    def close(self) -> None:
        pass


def offline_session(name: str, symbols: list[str], limits: Limits, directory=None) -> Session:
    """A Session of venue ``name`` over a fake connection, its TickWriter writing to a FakeRing
    (``session.writer.ring``); ``session.recv_ns`` is the receive time the next ``texts`` call uses."""
    import logging

    module = feed_module(name)
    metrics = FeedMetrics()
    warnings = RateLimitedLog(logging.getLogger("tickagg.fuzz"), every_s=3600.0)
    writer = TickWriter(exchange_of(name), FakeRing(), directory or FakeDirectory(), metrics, symbols, None,
                        seq_is_trade_id=module.SEQ_IS_TRADE_ID, limits=limits, symbol_case=module.SYMBOL_CASE,
                        warnings=warnings)
    return Session(module, "ws://offline", symbols, writer, metrics, _NoEvents(), warnings, 60.0, False,
                   connection=FakeConnection())


class _NoEvents:
    def emit(self, *args, **kwargs) -> None:
        pass
