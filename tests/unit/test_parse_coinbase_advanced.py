"""Coinbase Advanced Trade ``market_trades``: snapshot vs update, order, exact times, choice of protocol,
and the simulator's batched frames read back by the feed's parser."""
from __future__ import annotations

import json

import pytest

from feeds import coinbase, coinbase_advanced
from feeds.trade import BUY, SELL, FrameError, Trade
from feeds.venues import venue
from shm.records import FLAG_SNAPSHOT
from simulator.clock import Clock
from simulator.market import Market
from simulator.venues import coinbase_advanced as simulated

# the documentation's example, as ccxt copies it (with its trailing comma: not JSON)
DOC_EXAMPLE = """{
  "channel": "market_trades",
  "client_id": "",
  "timestamp": "2023-02-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "trades": [
        {
          "trade_id": "000000000",
          "product_id": "ETH-USD",
          "price": "1260.01",
          "size": "0.3",
          "side": "BUY",
          "time": "2019-08-14T20:42:27.265Z",
        }
      ]
    }
  ]
}"""


def _named(trades: list) -> list[Trade]:
    return [Trade._make(trade) for trade in trades]  # parsers give plain tuples in Trade's order


def _frame(*events: tuple[str, list[tuple]]) -> str:
    return json.dumps({"channel": "market_trades", "client_id": "", "timestamp": "2023-02-09T20:19:35.39625135Z",
                       "sequence_num": 3, "events": [
                           {"type": kind, "trades": [{"trade_id": tid, "product_id": sym, "price": px, "size": sz,
                                                      "side": side, "time": ts} for tid, sym, px, sz, side, ts in rows]}
                           for kind, rows in events]})


def test_the_documented_snapshot_is_a_replay_and_its_trailing_comma_an_error_that_is_not_fatal():
    parser = coinbase_advanced.Parser()
    with pytest.raises(FrameError) as info:
        parser.parse(DOC_EXAMPLE)
    assert info.value.kind == "json"
    assert parser.parse(DOC_EXAMPLE.replace('265Z",', '265Z"')) == []  # the same frame, valid JSON
    [trade] = _named(parser.replayed)
    assert trade.symbol == "ETH-USD" and trade.price == 1260.01 and trade.size == 0.3 and trade.side == BUY
    assert trade.ts_ns == 1565815347265000000 and trade.trade_id == "000000000" and trade.seq == 0
    assert trade.flags == FLAG_SNAPSHOT


def test_an_update_is_live_oldest_first_with_nine_digit_times():
    parser = coinbase_advanced.Parser()
    live = _named(parser.parse(_frame(("update", [
        ("88", "BTC-USD", "30000.5", "0.01", "SELL", "2024-05-01T12:00:00.123456789Z"),
        ("87", "BTC-USD", "30000.0", "0.5", "BUY", "2024-05-01T12:00:00.1Z"),
        ("12", "ETH-USD", "3000", "2", "BUY", "2024-05-01T12:00:00Z")]))))
    assert parser.replayed == []
    assert [(t.symbol, t.trade_id, t.seq, t.side) for t in live] == [
        ("ETH-USD", "12", 12, BUY), ("BTC-USD", "87", 87, BUY), ("BTC-USD", "88", 88, SELL)]
    assert live[2].ts_ns == 1714564800_123456789 and live[1].ts_ns == 1714564800_100000000
    assert all(t.flags == 0 for t in live)


def test_snapshot_and_update_events_of_one_message_go_their_own_ways():
    parser = coinbase_advanced.Parser()
    live = _named(parser.parse(_frame(("snapshot", [("5", "BTC-USD", "1", "1", "BUY", "2024-05-01T12:00:00Z"),
                                                    ("4", "BTC-USD", "1", "1", "SELL", "2024-05-01T12:00:00Z")]),
                                      ("update", [("6", "BTC-USD", "1", "1", "SELL", "2024-05-01T12:00:01Z")]))))
    assert [t.seq for t in live] == [6]
    assert [t.seq for t in _named(parser.replayed)] == [4, 5] and {t.flags for t in _named(parser.replayed)} == {FLAG_SNAPSHOT}


def test_a_bad_trade_in_the_snapshot_replays_nothing():
    parser = coinbase_advanced.Parser()
    with pytest.raises(FrameError) as info:
        parser.parse(_frame(("snapshot", [("5", "BTC-USD", "1", "1", "BUY", "2024-05-01T12:00:00Z")]),
                            ("update", [("6", "BTC-USD", "NaN", "1", "SELL", "2024-05-01T12:00:01Z")])))
    assert info.value.kind == "bad_number" and parser.replayed == []


def test_non_numeric_trade_ids_are_kept_as_text_without_a_sequence():
    [trade] = _named(coinbase_advanced.Parser().parse(_frame(("update", [("a1-b2", "BTC-USD", "1", "1", "BUY",
                                                                           "2024-05-01T12:00:00Z")]))))
    assert trade.trade_id == "a1-b2" and trade.seq == -1


def test_subscribe_sends_one_channel_per_message():
    messages = [json.loads(text) for text in coinbase_advanced.subscribe_messages(["BTC-USD", "ETH-USD"])]
    assert messages == [{"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "market_trades"},
                        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "heartbeats"}]


@pytest.mark.parametrize("protocol, url, module", [
    (None, None, coinbase),
    (None, "wss://ws-feed.exchange.coinbase.com", coinbase),
    (None, "wss://advanced-trade-ws.coinbase.com", coinbase_advanced),
    (None, "ws://127.0.0.1:9000/advanced-trade", coinbase_advanced),
    (None, "ws://127.0.0.1:9000/feed?advanced-trade=1", coinbase),  # the query names nothing
    ("advanced", None, coinbase_advanced),
    ("exchange", "wss://advanced-trade-ws.coinbase.com", coinbase),  # said outright: the option wins
])
def test_the_protocol_is_chosen_by_option_then_url(protocol, url, module):
    assert venue("coinbase", protocol, url) is module


def test_a_protocol_the_venue_does_not_have_is_refused():
    with pytest.raises(ValueError, match="known: exchange, advanced"):
        venue("coinbase", "fix")
    with pytest.raises(ValueError, match="okx has one protocol"):
        venue("okx", "advanced")


def test_simulated_updates_batch_several_trades_and_the_feed_reads_them_all_in_order():
    symbol = Market("coinbase", ["BTC-USD"]).symbols["BTC-USD"]
    bound = simulated.LIVE.bind(symbol)
    first = symbol.take_ids(22)
    chunk, ends, trades = bound.render(first, 22, None, Clock().tick())  # the endpoint asks for one per frame
    assert trades == [3, 1, 5, 2, 3, 1, 5, 2] and len(ends) == 8
    parser, got = coinbase_advanced.Parser(), []
    start = 0
    for end in ends:
        frame = chunk[start:end]
        start = end
        got += _named(parser.parse(frame[frame.index(b"{"):]))
    assert [t.seq for t in got] == list(range(first, first + 22)) and parser.replayed == []
    assert {t.side for t in got} == {BUY, SELL}


def test_the_simulated_snapshot_is_newest_first_and_replayed_oldest_first():
    symbol = Market("coinbase", ["BTC-USD"]).symbols["BTC-USD"]
    bound = simulated.LIVE.bind(symbol)
    ids = list(reversed(symbol.recent_ids(simulated.SNAPSHOT_TRADES)))
    parser = coinbase_advanced.Parser()
    assert parser.parse(bound.payload(ids, Clock().tick(), simulated.SNAPSHOT)) == []
    assert [t.seq for t in _named(parser.replayed)] == sorted(ids)
