"""What the TickWriter refuses, counts and keeps: plausibility rules, canonical symbols, symbol keys that
do not fit, a full symbol directory, ids and times that used to kill a feed (feeds/ticks.py, plausible.py)."""
from __future__ import annotations

import itertools
import time
import uuid

import numpy as np
import pytest
from fuzz import FakeDirectory, FakeRing

from feeds import normalize
from feeds.canonical import canonical_symbol
from feeds.metrics import FeedMetrics
from feeds.plausible import Limits, parse_pair
from feeds.ticks import TickWriter, trade_id_u64, trade_id_words
from feeds.trade import FrameError, Trade
from shm import segment
from shm.symbols import SymbolDirectory, directory_name

NOW = time.time_ns()


def _writer(symbols=("BTCUSDT",), limits=Limits(), directory=None, case="upper", seq_is_trade_id=True):
    metrics = FeedMetrics()
    writer = TickWriter("binance", FakeRing(), directory or FakeDirectory(), metrics, list(symbols),
                        seq_is_trade_id=seq_is_trade_id, limits=limits, symbol_case=case)
    return writer, metrics.values


def _trade(seq: int, symbol: str = "BTCUSDT", price: float = 100.0, size: float = 1.0, ts_ns: int = NOW,
           trade_id: str | None = None) -> Trade:
    return Trade(symbol, price, size, 1, ts_ns, str(seq) if trade_id is None else trade_id, 0, seq)


def _staged(writer: TickWriter) -> np.ndarray:
    writer.flush()
    return writer.ring.records()


def test_a_trade_a_decade_ahead_is_dropped_and_later_ticks_are_not_late() -> None:
    writer, values = _writer()
    decade = 10 * 365 * 86400 * 10 ** 9
    writer.add_frames([[_trade(1)], [_trade(2, ts_ns=NOW + decade)], [_trade(3)], [_trade(4, ts_ns=0)],
                       [_trade(5, ts_ns=-5)], [_trade(6, ts_ns=NOW - 301 * 10 ** 9)], [_trade(7)]], NOW)
    ticks = _staged(writer)
    assert ticks["trade_id"].tolist() == [1, 3, 7]
    assert values["err_implausible_time"] == 4 and values["errors"] == 4 and values["ticks"] == 3
    assert values["gaps"] == 2  # 1 -> 3 and 3 -> 7: dropped trades are missing to the aggregator too, and it is said


@pytest.mark.parametrize("price, size, kind", [(1.8e308, 1.0, "price"), (5e-324, 1.0, "price"), (float("nan"), 1.0, "price"),
                                               (100.0, 1.8e308, "size"), (100.0, 5e-324, "size"), (100.0, -1.0, "size")])
def test_absurd_prices_and_sizes_are_dropped_per_kind(price: float, size: float, kind: str) -> None:
    writer, values = _writer()
    writer.add_frames([[_trade(1)], [_trade(2, price=price, size=size)], [_trade(3)]], NOW)
    assert _staged(writer)["trade_id"].tolist() == [1, 3]
    assert values[f"err_implausible_{kind}"] == 1 and values["errors"] == 1


def test_the_limits_are_configurable() -> None:
    writer, values = _writer(limits=Limits(behind_s=5.0, ahead_s=0.0, max_price=50.0))
    writer.add_frames([[_trade(1, price=40.0)], [_trade(2, price=60.0)], [_trade(3, ts_ns=NOW - 6 * 10 ** 9)],
                       [_trade(4, ts_ns=NOW + 1)], [_trade(5, price=49.0, ts_ns=NOW - 4 * 10 ** 9)]], NOW)
    assert _staged(writer)["trade_id"].tolist() == [1, 5]
    assert values["err_implausible_price"] == 1 and values["err_implausible_time"] == 2
    assert parse_pair("300,10", "--max-clock-skew") == (300.0, 10.0) and parse_pair("60", "x") == (60.0, 60.0)
    for bad in ("-1", "a,b", "1,2,3", "nan", ""):
        with pytest.raises(ValueError, match="--price-range"):
            parse_pair(bad, "--price-range")
    with pytest.raises(ValueError):
        Limits(min_price=2.0, max_price=1.0)


def _variants(symbol: str) -> list[str]:
    cases = ["".join(chars) for chars in itertools.product(*[(c.lower(), c.upper()) for c in symbol])]
    wide = ["".join(chr(0xFEE0 + ord(c)) if i in picks else c for i, c in enumerate(symbol))
            for picks in ({0}, {1, 2}, {3}, set(range(len(symbol))))]
    return cases[:128] + wide  # 132 spellings


def test_case_and_unicode_variants_are_one_symbol() -> None:
    directory = FakeDirectory()
    writer, values = _writer(directory=directory)
    variants = _variants("BTCUSDT")
    assert len(set(variants)) == 132
    writer.add_frames([[_trade(seq, symbol=spelling)] for seq, spelling in enumerate(variants, 1)], NOW)
    ticks = _staged(writer)
    assert len(ticks) == 132 and set(ticks["symbol_id"].tolist()) == {1}
    assert directory.ids == {"binance:BTCUSDT": 1} and values["errors"] == 0
    assert canonical_symbol("lower", "ＢＴＣusd") == "btcusd" and canonical_symbol("prefix", "TbtcUSD") == "tBTCUSD"


def test_a_symbol_not_subscribed_or_too_long_for_the_key_is_counted_not_fatal() -> None:
    long_symbol = "L" * 70
    writer, values = _writer(symbols=("BTCUSDT", long_symbol))
    writer.add_frames([[_trade(1)], [_trade(2, symbol=long_symbol)], [_trade(3, symbol="ETHUSDT")],
                       [_trade(4, symbol=["not", "text"])], [_trade(5)]], NOW)
    assert _staged(writer)["trade_id"].tolist() == [1, 5]
    assert values["err_bad_symbol"] == 1 and values["err_unknown_symbol"] == 2


def test_a_full_symbol_directory_drops_new_symbols_and_keeps_known_ones() -> None:
    group = f"u{uuid.uuid4().hex[:10]}"
    try:
        directory = SymbolDirectory(group, capacity=1)
        writer, values = _writer(symbols=("BTCUSDT", "ETHUSDT"), directory=directory, seq_is_trade_id=False)
        frames = [[_trade(seq, symbol="BTCUSDT" if seq % 2 else "ETHUSDT")] for seq in range(1, 11)]
        writer.add_frames(frames, NOW)
        ticks = _staged(writer)
        assert ticks["trade_id"].tolist() == [1, 3, 5, 7, 9] and set(ticks["symbol_id"].tolist()) == {1}
        assert values["err_directory_full"] == 5
        directory.close()
    finally:
        segment.remove(directory_name(group))


def test_a_poison_frame_in_a_long_run_costs_that_frame_only() -> None:
    """The column path declines the run (nothing changed) and the loop drops the poison alone."""
    writer, values = _writer(seq_is_trade_id=False)
    good = [[_trade(seq)] for seq in range(1, 601)]
    poison = [[Trade("BTCUSDT", 1.0, 1.0, 1, 2 ** 70, "z", 0, -1)], [Trade("BTCUSDT", 1.0, 1.0, 1, NOW, "²", 0, -1)],
              [Trade("BTCUSDT", 1.0, 1.0, 1, NOW, "9" * 4400, 0, -1)],
              [Trade("BTCUSDT", "1.0", 1.0, 1, NOW, "x", 0, -1)], [Trade("BTCUSDT", 1.0, 1.0, 300, NOW, "y", 0, -1)]]
    run = good[:300] + poison + good[300:]
    writer.add_frames(run, NOW)
    ticks = _staged(writer)
    assert ticks["trade_id"][:300].tolist() == list(range(1, 301))
    assert ticks["trade_id"][-300:].tolist() == list(range(301, 601))
    assert values["err_implausible_time"] == 1 and values["err_tick_writer"] == 2  # a text price, a side of 300
    assert values["ticks"] == len(ticks) == 602  # the "²" and 4,400-digit ids are text ids: hashed, kept
    np.testing.assert_array_equal(ticks["seq"], np.arange(len(ticks)))


def test_trade_ids_that_used_to_raise_are_hashed() -> None:
    for text in ("²", "١٢٣", "9" * 4400, "1" * 21):
        key, low, flag = trade_id_words(text)
        assert key == trade_id_u64(text) and 0 <= key < 2 ** 64 and low == flag == 0
    assert trade_id_words("18446744073709551615") == (2 ** 64 - 1, 0, 0)


@pytest.mark.parametrize("call, value", [
    (normalize.ns_from_ms, 2 ** 63), (normalize.ns_from_ms, "9" * 19), (normalize.ns_from_ms, "9" * 5000),
    (normalize.ns_from_us, 10 ** 17), (normalize.ns_from_ns, 2 ** 64 - 1), (normalize.ns_from_ms, "²"),
    (normalize.ns_from_iso, "9999-12-31T23:59:59Z"), (normalize.ns_from_iso, "0000-01-01T00:00:00Z"),
    (normalize.ns_from_decimal_seconds, "9" * 5000 + ".5"), (normalize.span, "²"), (normalize.span, 0),
])
def test_times_beyond_int64_and_endless_digits_are_frame_errors(call, value) -> None:
    with pytest.raises(FrameError):
        call(value)


def test_sequences_out_of_int64_are_none() -> None:
    assert normalize.sequence(2 ** 63) == normalize.sequence("9" * 30) == normalize.sequence("²") == -1
    assert normalize.sequence(2 ** 63 - 1) == 2 ** 63 - 1
