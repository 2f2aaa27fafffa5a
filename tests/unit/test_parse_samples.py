"""Recorded venue frames (tests/support/exchange_samples/*.jsonl) through the real parsers.

One Parser per file, frames in file order, so per-connection state (Bitfinex chanIds) works.
The `tickagg parse` command over the same frames: tests/integration/test_parse_cli.py.
"""
from __future__ import annotations

import pytest
from samples import SAMPLES, assert_ticks, frames_of, sample_lines

from feeds.trade import SIDE_NAMES, Trade
from feeds.venues import VENUES, venue
from shm.records import FLAG_SNAPSHOT


def as_dict(trade: tuple) -> dict:
    trade = Trade._make(trade)  # parsers give plain tuples in Trade's order
    return {"symbol": trade.symbol, "price": trade.price, "size": trade.size,
            "side": SIDE_NAMES[trade.side], "ts_ns": trade.ts_ns, "trade_id": trade.trade_id}


@pytest.mark.parametrize("name", sorted(VENUES))
def test_samples_give_expected_ticks(name: str) -> None:
    parser = venue(name).Parser()
    samples = sample_lines(name)
    assert samples, f"no samples for {name}"
    for number, sample in enumerate(samples, 1):
        where = f"{name}.jsonl line {number} ({sample['kind']})"
        live = []
        for frame in frames_of(sample):
            live.extend(parser.parse(frame))
        assert all(Trade._make(trade).flags == 0 for trade in live), where
        assert_ticks([as_dict(trade) for trade in live], sample["expected"], where)
        replayed, parser.replayed[:] = list(parser.replayed), []
        assert all(Trade._make(trade).flags == FLAG_SNAPSHOT for trade in replayed), where
        assert_ticks([as_dict(trade) for trade in replayed], sample.get("snapshot_trades", []), where + " replay")
        assert parser.replies == [], where


@pytest.mark.parametrize("name", sorted(VENUES))
def test_samples_also_parse_as_bytes(name: str) -> None:
    """websocket-client may hand over bytes; orjson reads both."""
    by_text, by_bytes = venue(name).Parser(), venue(name).Parser()
    for sample in sample_lines(name):
        for frame in frames_of(sample):
            assert by_bytes.parse(frame.encode()) == by_text.parse(frame)


def test_every_venue_has_samples_and_the_form() -> None:
    assert sorted(VENUES) == sorted(path.stem for path in SAMPLES.glob("*.jsonl"))
    for name, module in VENUES.items():
        assert module.NAME == name
        assert module.URL.startswith("wss://")
        assert isinstance(module.url_for(module.URL, ["BTCUSDT"]), str)
        assert all(isinstance(frame, str) for frame in module.subscribe_messages(["BTCUSDT"]))
        assert all(isinstance(frame, str) for frame in module.on_connect_messages())
        assert (module.PING_TEXT is None) == (module.PING_INTERVAL_S is None)
        assert module.STALE_AFTER_S > (module.PING_INTERVAL_S or 0)


def test_unknown_venue_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="binance"):
        venue("mtgox")
