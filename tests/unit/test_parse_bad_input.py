"""Bad frames through every venue parser: each raises ``FrameError`` with the right
kind (or returns [] for harmless control frames) and the parser keeps working.

Policy checked here: a frame with several trades where one is bad raises for the
whole frame (no partial result); unknown messages raise ``unknown_message`` so
they are counted, known control frames (acks, heartbeats, info, pong) give [].
"""
from __future__ import annotations

import calendar
import copy
import datetime as dt
import json
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds import normalize
from feeds.trade import BUY, SELL, FrameError
from feeds.venues import VENUES, venue

RAW = "@@RAW@@"  # placeholder replaced by a raw JSON fragment after dumping
ROLES = ("price", "size", "ts", "trade_id", "side", "symbol")


@dataclass(frozen=True)
class Case:
    """One venue frame format: a good one-trade frame and where its fields live."""

    id: str
    venue: str
    frame: object  # the good frame as Python data
    fields: dict  # price/size/ts/trade_id/side/symbol -> path of keys and indexes
    absent: tuple[str, ...]  # the ROLES this format does not carry in the frame (no field to corrupt)
    unknown: tuple[str, ...]  # frames of kinds the module does not know
    error: str  # the venue's error frame
    quiet: tuple[str, ...]  # known control frames that give []
    setup: tuple[str, ...] = ()  # frames the parser must see first
    signed_size: bool = False  # size sign is the side (Bitfinex)
    missing: dict = field(default_factory=dict)  # role -> what a frame without it raises, if not missing_field
    protocol: str | None = None  # a venue's other protocol (feeds/venues.py PROTOCOLS)

    def parser(self):
        parser = venue(self.venue, self.protocol).Parser()
        for frame in self.setup:
            assert parser.parse(frame) == []
        return parser

    def good(self) -> str:
        return json.dumps(self.frame)

    def with_raw(self, path: tuple, fragment: str) -> str:
        """The good frame with the field at ``path`` replaced by the JSON text ``fragment``."""
        frame = copy.deepcopy(self.frame)
        node, last = _parent_of(frame, path)
        node[last] = RAW
        return json.dumps(frame).replace(f'"{RAW}"', fragment)

    def without(self, path: tuple) -> str:
        """The good frame without the field at ``path`` (arrays are cut short there)."""
        frame = copy.deepcopy(self.frame)
        node, last = _parent_of(frame, path)
        if isinstance(node, list):
            del node[last:]
        else:
            del node[last]
        return json.dumps(frame)


def _parent_of(frame: object, path: tuple) -> tuple[object, object]:
    """The container holding the field at ``path``, and its key; fails when there is no such field,
    so a case can never corrupt (or remove) a field its frame does not have and pass unchecked."""
    *parents, last = path
    node = frame
    for key in parents:
        node = node[key]
    exists = last in node if isinstance(node, dict) else isinstance(node, list) and -len(node) <= last < len(node)
    assert exists, f"{path} names no field of {frame}"
    return node, last


def _dict_fields(prefix: tuple, **names: str) -> dict:
    return {role: prefix + (name,) for role, name in names.items()}


CASES = [
    Case("binance-trade", "binance",
         {"stream": "btcusdt@trade", "data": {"e": "trade", "E": 1554076800945, "s": "BTCUSDT", "t": 40756030,
                                             "p": "100.5", "q": "0.25", "T": 1554076800940, "m": False, "M": True}},
         _dict_fields(("data",), price="p", size="q", ts="T", trade_id="t", side="m", symbol="s"), absent=(),
         unknown=('{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT"}}',),
         error='{"code":2,"msg":"Invalid request: unknown variant","id":1}',
         quiet=('{"result":null,"id":1}', '{"e":"serverShutdown","E":1}')),
    Case("binance-aggTrade", "binance",
         {"e": "aggTrade", "E": 1633998523963, "s": "NKNUSDT", "a": 15683430, "p": "0.3528", "q": "58",
          "f": 19862790, "l": 19862790, "T": 1633998523963, "m": True, "M": True},
         _dict_fields((), price="p", size="q", ts="T", trade_id="a", side="m", symbol="s"), absent=(),
         unknown=('{"e":"kline","E":1,"s":"BTCUSDT"}',),
         error='{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null}',
         quiet=()),
    Case("okx", "okx",
         {"arg": {"channel": "trades", "instId": "BTC-USDT"},
          "data": [{"instId": "BTC-USDT", "tradeId": "338476307", "px": "30236", "sz": "0.0002", "side": "buy",
                    "ts": "1652459224818"}]},
         _dict_fields(("data", 0), price="px", size="sz", ts="ts", trade_id="tradeId", side="side", symbol="instId"), absent=(),
         unknown=('{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[{}]}', '{"event":"login","code":"0"}'),
         error='{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:XXX doesn\'t exist.","connId":"a4d3ae55"}',
         quiet=("pong", '{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}',
                '{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade."}')),
    Case("coinbase", "coinbase",
         {"type": "match", "trade_id": 280232, "maker_order_id": "2a0da34e", "taker_order_id": "3c82abaa",
          "side": "sell", "size": "985", "price": "0.00001305", "product_id": "SKL-BTC", "sequence": 177100030,
          "time": "2021-04-17T16:43:37.089723Z"},
         _dict_fields((), price="price", size="size", ts="time", trade_id="trade_id", side="side", symbol="product_id"), absent=(),
         unknown=('{"type":"l2update","product_id":"BTC-USD","changes":[]}', '{"no_type":1}'),
         error='{"type":"error","message":"Failed to subscribe","reason":"XYZ-USD is not a valid product"}',
         quiet=('{"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]}',
                '{"type":"heartbeat","last_trade_id":1,"product_id":"BTC-USD","sequence":1,"time":"2021-04-17T16:43:37.089723Z"}')),
    Case("coinbase-advanced", "coinbase",
         {"channel": "market_trades", "client_id": "", "timestamp": "2023-02-09T20:19:35.39625135Z", "sequence_num": 0,
          "events": [{"type": "update", "trades": [{"trade_id": "000000000", "product_id": "ETH-USD", "price": "1260.01",
                                                   "size": "0.3", "side": "BUY", "time": "2019-08-14T20:42:27.265Z"}]}]},
         _dict_fields(("events", 0, "trades", 0), price="price", size="size", ts="time", trade_id="trade_id", side="side",
                      symbol="product_id"), absent=(),
         unknown=('{"channel":"level2","events":[]}', '{"no_channel":1}',
                  '{"channel":"market_trades","events":[{"type":"replay","trades":[]}]}'),
         error='{"type":"error","message":"failure to subscribe"}',
         quiet=('{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":1,'
                '"events":[{"subscriptions":{"market_trades":["ETH-USD"],"heartbeats":["heartbeats"]}}]}',
                '{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":0,'
                '"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",'
                '"heartbeat_counter":"3049"}]}'),
         protocol="advanced"),
    Case("kraken-v2", "kraken",
         {"channel": "trade", "type": "update",
          "data": [{"symbol": "MATIC/USD", "side": "sell", "price": 0.5117, "qty": 40.0, "ord_type": "market",
                    "trade_id": 4665906, "timestamp": "2023-09-25T07:49:37.708706Z"}]},
         _dict_fields(("data", 0), price="price", size="qty", ts="timestamp", trade_id="trade_id", side="side",
                      symbol="symbol"), absent=(),
         unknown=('{"channel":"book","type":"update","data":[]}', '{"channel":"trade","type":"delta","data":[]}'),
         error='{"error":"Currency pair not supported XBT/XYZ","method":"subscribe","success":false,"symbol":"XBT/XYZ"}',
         quiet=('{"channel":"heartbeat"}',
                '{"channel":"status","type":"update","data":[{"api_version":"v2","system":"online"}]}',
                '{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true}',
                '{"method":"pong","req_id":1}')),
    Case("kraken-v1", "kraken",
         [993, [["354.11000000", "0.89594024", "1618678142.557535", "s", "l", ""]], "trade", "XMR/USD"],
         {"price": (1, 0, 0), "size": (1, 0, 1), "ts": (1, 0, 2), "side": (1, 0, 3), "symbol": (3,)},
         absent=("trade_id",),  # v1 trades carry no id
         missing={"symbol": "unknown_message"},  # cut before the pair, the array is no trade message
         unknown=('[994,{"as":[]},"book-10","XMR/USD"]',),
         error='{"errorMessage":"Currency pair not supported","event":"subscriptionStatus","pair":"XMR/XYZ","status":"error"}',
         quiet=('{"event":"heartbeat"}', '{"connectionID":18239578009413566319,"event":"systemStatus","status":"online"}')),
    Case("bybit", "bybit",
         {"topic": "publicTrade.BTCUSDC", "ts": 1680688980000, "type": "snapshot",
          "data": [{"i": "2240000000041223438", "T": 1680688979998, "p": "28528.98", "v": "0.00433", "S": "Buy",
                    "s": "BTCUSDC", "BT": False}]},
         _dict_fields(("data", 0), price="p", size="v", ts="T", trade_id="i", side="S", symbol="s"), absent=(),
         unknown=('{"topic":"orderbook.50.BTCUSDT","type":"snapshot","data":{}}', '{"hello":1}'),
         error='{"success":false,"ret_msg":"error:handler not found,topic:publicTrade.NOTASYMBOL","conn_id":"x","op":"subscribe"}',
         quiet=('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}',
                '{"success":true,"ret_msg":"","conn_id":"x","req_id":"1","op":"subscribe"}')),
    Case("bitfinex", "bitfinex",
         [89, "te", [382489563, 1564617600709, 0.00705845, 10087.98969503], 18, 1564617600784],
         {"trade_id": (2, 0), "ts": (2, 1), "size": (2, 2), "price": (2, 3)},
         absent=("side", "symbol"),  # the sign of the amount is the side; the chanId stands for the symbol
         setup=('{"event":"subscribed","channel":"trades","chanId":89,"symbol":"tBTCUSD","pair":"BTCUSD"}',),
         signed_size=True,
         unknown=('[89,"xx",[1,2,3,4]]', '{"event":"auth"}', '[89,42]'),
         error='{"event":"error","msg":"symbol: invalid","code":10300,"pair":"XYZ"}',
         quiet=('[89,"hb"]', '[204928,"hb",127]', '[89,"tu",[382489563,1564617600709,0.00705845,10087.98969503]]',
                '{"event":"info","version":2,"serverId":"x","platform":{"status":1}}',
                '{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}')),
    Case("bitstamp", "bitstamp",
         {"data": {"id": 216000477, "timestamp": "1641343699", "amount": 0.0792, "price": 3805.44, "type": 0,
                   "microtimestamp": "1641343699596000"}, "channel": "live_trades_ethusd", "event": "trade"},
         _dict_fields(("data",), price="price", size="amount", ts="microtimestamp", trade_id="id", side="type")
         | {"symbol": ("channel",)}, absent=(),
         unknown=('{"event":"data","channel":"order_book_btcusd","data":{}}',
                  '{"event":"trade","channel":"order_book_btcusd","data":{}}'),
         error='{"event":"bts:error","channel":"","data":{"code":null,"message":"Bad subscription string."}}',
         quiet=('{"event":"bts:subscription_succeeded","channel":"live_trades_ethusd","data":{}}',
                '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}',
                '{"event":"bts:request_reconnect","channel":"","data":""}')),
    Case("bitstamp-str", "bitstamp",
         {"data": {"id": 216000506, "amount_str": "2.73248242", "price_str": "3800.80", "type": 1,
                   "microtimestamp": "1641343721269000"}, "channel": "live_trades_ethusd", "event": "trade"},
         _dict_fields(("data",), price="price_str", size="amount_str", ts="microtimestamp", trade_id="id", side="type")
         | {"symbol": ("channel",)}, absent=(),
         unknown=(), error='{"event":"bts:error","channel":"","data":{"code":4009,"message":"x"}}', quiet=()),
    Case("gemini-v2", "gemini",
         {"type": "trade", "symbol": "ANKRUSD", "event_id": 45465818387, "timestamp": 1624493670759,
          "price": "0.07946", "quantity": "1020.482111", "side": "buy"},
         _dict_fields((), price="price", size="quantity", ts="timestamp", trade_id="event_id", side="side",
                      symbol="symbol"), absent=(),
         unknown=('{"type":"candles_1m_updates","symbol":"BTCUSD","changes":[]}',),
         error='{"type":"error","reason":"InvalidJson","result":"error"}',
         quiet=('{"type":"heartbeat","timestamp":1624493666869}', '{"type":"l2_updates","symbol":"BTCUSD","changes":[]}')),
    Case("gemini-new", "gemini",
         {"E": 1783981140085684200, "s": "btcrlusd", "t": 2840141014190422, "p": "62145.38000",
          "q": "0.0162522200", "m": True},
         _dict_fields((), price="p", size="q", ts="E", trade_id="t", side="m", symbol="s"), absent=(),
         unknown=('{"e":"depthUpdate","s":"btcusd"}',),
         error='{"id":1,"status":400,"error":{"code":-1020,"msg":"Unsupported operation"}}',
         quiet=('{"id":1,"status":200}', '{"id":7,"status":200,"result":null}')),
    Case("deribit", "deribit",
         {"jsonrpc": "2.0", "method": "subscription",
          "params": {"channel": "trades.BTC-PERPETUAL.100ms",
                     "data": [{"trade_seq": 20944815, "trade_id": "39355898", "timestamp": 1567296022565,
                               "tick_direction": 2, "price": 9598.5, "instrument_name": "BTC-PERPETUAL",
                               "index_price": 9600.8, "direction": "sell", "amount": 2000.0}]}},
         _dict_fields(("params", "data", 0), price="price", size="amount", ts="timestamp", trade_id="trade_id",
                      side="direction", symbol="instrument_name"), absent=(),
         unknown=('{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{}}}',
                  '{"jsonrpc":"2.0","method":"something"}'),
         error='{"jsonrpc":"2.0","id":5,"error":{"code":11050,"data":"invalid json","message":"bad_request"},"testnet":false}',
         quiet=('{"jsonrpc":"2.0","id":1,"result":["trades.BTC-PERPETUAL.100ms"],"testnet":false}',
                '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}')),
    Case("bitmex", "bitmex",
         {"table": "trade", "action": "insert",
          "data": [{"timestamp": "2021-07-22T22:36:19.764Z", "symbol": "MATICUSDT", "side": "Sell", "size": 1199,
                    "price": 0.8795, "tickDirection": "PlusTick", "trdMatchID": "3b2d6d74-b858-2413-ec15-715b1e7a251c"}]},
         _dict_fields(("data", 0), price="price", size="size", ts="timestamp", trade_id="trdMatchID", side="side",
                      symbol="symbol"), absent=(),
         unknown=('{"table":"orderBookL2_25","action":"update","data":[]}', '{"table":"trade","action":"delete","data":[]}'),
         error='{"status":400,"error":"Unknown or expired symbol.","meta":{},"request":{"op":"subscribe","args":["trade:XYZ"]}}',
         quiet=("pong", '{"info":"Welcome to the BitMEX Realtime API.","version":"x"}',
                '{"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe","args":["trade:XBTUSD"]}}')),
]
CASE_IDS = [case.id for case in CASES]


def cases_with(role: str) -> list:
    """The cases whose frame has a ``role`` field to corrupt; the others are not generated."""
    return [pytest.param(case, id=case.id) for case in CASES if role in case.fields]


def cases_having(frames: str) -> list:
    """The cases with at least one frame in their ``frames`` attribute (``unknown``); the others are not generated."""
    return [pytest.param(case, id=case.id) for case in CASES if getattr(case, frames)]


def expect_kind(case: Case, frame: str | bytes, kind: str) -> None:
    """``frame`` raises ``kind``, nothing is emitted, and the parser still reads a good frame."""
    parser = case.parser()
    with pytest.raises(FrameError) as info:
        parser.parse(frame)
    assert info.value.kind == kind, f"{case.id}: {frame!r} gave {info.value.kind}: {info.value}"
    assert parser.replies == [] and parser.replayed == []
    assert len(parser.parse(case.good())) == 1


def test_cases_cover_every_venue() -> None:
    assert {case.venue for case in CASES} == set(VENUES)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_each_role_is_a_field_of_the_frame_or_said_to_be_absent(case: Case) -> None:
    """A role left out of ``fields`` would silently drop its corruption tests: it must be named absent."""
    assert not set(case.fields) & set(case.absent) and set(case.fields) | set(case.absent) == set(ROLES)
    for path in case.fields.values():
        _parent_of(case.frame, path)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_good_frame_parses(case: Case) -> None:
    [trade] = case.parser().parse(case.good())
    assert trade.price > 0 and trade.size > 0 and trade.ts_ns > 10**18 and trade.flags == 0


GARBAGE = [
    ("json", '{"a":'),
    ("json", ""),
    ("json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"),
    ("json", b'{"a":"\xff\xfe"}'),  # not UTF-8
    ("json", "{'single': 'quotes'}"),
    ("json", '{"a":1}{"b":2}'),
    ("json", '{"price": NaN}'),
    ("unknown_message", "42"),
    ("unknown_message", "null"),
    ("unknown_message", '"hello"'),
    ("unknown_message", "[]"),
]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("kind, frame", GARBAGE)
def test_garbage(case: Case, kind: str, frame: str | bytes) -> None:
    expect_kind(case, frame, kind)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_message_quotes_the_frame_text_also_from_a_memoryview(case: Case) -> None:
    # the feed hands parsers memoryviews of its read buffer; the log line must show the text, not "<memory at ...>"
    with pytest.raises(FrameError) as info:
        case.parser().parse(memoryview(b'"hello-frame"'))
    assert info.value.kind == "unknown_message"
    assert "hello-frame" in str(info.value) and "memory at" not in str(info.value)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_truncated_frames(case: Case) -> None:
    good = case.good()
    for cut in (1, len(good) // 3, len(good) // 2, len(good) - 1):
        expect_kind(case, good[:cut], "json")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_missing_fields(case: Case) -> None:
    for role, path in case.fields.items():
        expect_kind(case, case.without(path), case.missing.get(role, "missing_field"))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_wrong_shapes(case: Case) -> None:
    """A trade list that is an object, a trade that is a number: missing_field."""
    path = case.fields["price"]
    for depth in range(1, len(path)):
        node = case.frame
        for key in path[:depth]:
            node = node[key]
        if isinstance(node, (list, dict)):
            expect_kind(case, case.with_raw(path[:depth], "7"), "missing_field")


BAD_NUMBERS = [
    ('"abc"', "bad_number"), ('"NaN"', "bad_number"), ('"nan"', "bad_number"), ('"Infinity"', "bad_number"),
    ('"-inf"', "bad_number"), ('""', "bad_number"), ('"1_0"', "bad_number"), ('"0x10"', "bad_number"),
    ("null", "bad_number"), ("true", "bad_number"), ("[1]", "bad_number"), ("{}", "bad_number"),
    ("NaN", "json"), ("Infinity", "json"), ("-Infinity", "json"), ("1e999", "json"),
    ("0", "zero"), ('"0"', "zero"), ('"0.000"', "zero"), ("-0.0", "zero"), ("1e-400", "zero"),
    ("-1", "negative"), ('"-1.5"', "negative"), ("-2.5e3", "negative"),
]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_price(case: Case) -> None:
    for fragment, kind in BAD_NUMBERS:
        expected = {"zero": "bad_price", "negative": "bad_price"}.get(kind, kind)
        expect_kind(case, case.with_raw(case.fields["price"], fragment), expected)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_size(case: Case) -> None:
    for fragment, kind in BAD_NUMBERS:
        frame = case.with_raw(case.fields["size"], fragment)
        if kind == "negative" and case.signed_size:
            [trade] = case.parser().parse(frame)  # Bitfinex: a negative AMOUNT is a taker sell
            assert trade.side == SELL and trade.size > 0
            continue
        expected = {"zero": "bad_size", "negative": "bad_size"}.get(kind, kind)
        expect_kind(case, frame, expected)


@pytest.mark.parametrize("case", cases_with("ts"))
def test_bad_timestamp(case: Case) -> None:
    for fragment in ('"abc"', "null", "-1", "1.5", "[]", '"12a"', '""', "true", '"-5"', '"１２"'):
        expect_kind(case, case.with_raw(case.fields["ts"], fragment), "bad_timestamp")


@pytest.mark.parametrize("case", cases_with("trade_id"))
def test_bad_trade_id(case: Case) -> None:
    for fragment in ("null", "1.5", '""', "true", "{}", "18446744073709551616"):  # last: >= 2^64 decodes as float
        expect_kind(case, case.with_raw(case.fields["trade_id"], fragment), "bad_trade_id")


@pytest.mark.parametrize("case", cases_with("side"))
def test_bad_side(case: Case) -> None:
    for fragment in ('"up"', "null", "7", '"BUY"' if case.id != "coinbase-advanced" else '"buy"',
                     '"block"' if case.id != "gemini-v2" else '"Block"'):
        expect_kind(case, case.with_raw(case.fields["side"], fragment), "bad_side")


@pytest.mark.parametrize("case", cases_having("unknown"))
def test_unknown_messages(case: Case) -> None:
    for frame in case.unknown:
        expect_kind(case, frame, "unknown_message")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_venue_error_frame(case: Case) -> None:
    expect_kind(case, case.error, "venue_error")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_control_frames_give_nothing(case: Case) -> None:
    parser = case.parser()
    for frame in case.quiet:
        assert parser.parse(frame) == [], frame
    assert parser.replies == [] and parser.replayed == []
    assert len(parser.parse(case.good())) == 1


@pytest.mark.parametrize("name", ["okx", "bybit", "deribit", "bitmex", "kraken-v2", "coinbase-advanced"])
def test_one_bad_trade_fails_the_whole_frame(name: str) -> None:
    case = next(case for case in CASES if case.id == name)
    frame = copy.deepcopy(case.frame)
    rows = (frame["params"]["data"] if name == "deribit" else frame["events"][0]["trades"] if name == "coinbase-advanced"
            else frame["data"])
    bad = copy.deepcopy(rows[0])
    bad[case.fields["price"][-1]] = "-1"
    rows.append(bad)
    expect_kind(case, json.dumps(frame), "bad_price")


def test_bitfinex_trade_on_unknown_channel() -> None:
    case = next(case for case in CASES if case.id == "bitfinex")
    expect_kind(case, '[90,"te",[1,1564617600709,0.5,100.5]]', "unknown_channel")
    parser = case.parser()
    assert parser.parse('{"event":"unsubscribed","status":"OK","chanId":89}') == []
    with pytest.raises(FrameError, match="never subscribed"):
        parser.parse(case.good())


def test_bitfinex_snapshot_and_tu_are_not_live() -> None:
    case = next(case for case in CASES if case.id == "bitfinex")
    parser = case.parser()
    assert parser.parse('[89,[[2,1564617598688,-0.5,10088],[1,1564617598000,0.25,10087]],1,1564617600401]') == []
    assert [(t.trade_id, t.side, t.size) for t in parser.replayed] == [("2", SELL, 0.5), ("1", BUY, 0.25)]
    assert parser.parse('[89,"tu",[382489563,1564617600709,0.00705845,10087.98969503]]') == []


def test_deribit_test_request_is_answered() -> None:
    parser = venue("deribit").Parser()
    frame = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'
    assert parser.parse(frame) == [] and parser.parse(frame) == []
    replies = [json.loads(reply) for reply in parser.replies]
    assert [reply["method"] for reply in replies] == ["public/test", "public/test"]
    assert replies[0]["id"] != replies[1]["id"] and replies[0]["jsonrpc"] == "2.0"


def test_replays_go_to_replayed_not_live() -> None:
    frames = {
        "kraken": '{"channel":"trade","type":"snapshot","data":[{"symbol":"BTC/USD","side":"buy","price":100.5,'
                  '"qty":0.1,"ord_type":"limit","trade_id":1,"timestamp":"2023-09-25T07:49:37.708706Z"}]}',
        "coinbase": '{"type":"last_match","trade_id":1,"side":"buy","size":"1","price":"2","product_id":"BTC-USD",'
                    '"time":"2021-04-17T16:43:30.244075Z"}',
        "gemini": '{"type":"l2_updates","symbol":"BTCUSD","changes":[],"trades":[{"type":"trade","symbol":"BTCUSD",'
                  '"event_id":1,"timestamp":1623615527403,"price":"1","quantity":"2","side":"sell"}]}',
        "bitmex": '{"table":"trade","action":"partial","data":[{"timestamp":"2021-07-22T22:35:59.790Z",'
                  '"symbol":"XBTUSD","side":"Buy","size":1000,"price":32175,"trdMatchID":"a"}]}',
    }
    for name, frame in frames.items():
        parser = venue(name).Parser()
        assert parser.parse(frame) == [], name
        assert len(parser.replayed) == 1, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_fields_only_raise_frame_errors(data) -> None:
    case = data.draw(st.sampled_from(CASES))
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                               max_leaves=5)
    path = data.draw(st.sampled_from(sorted(case.fields.values())))
    frame = case.with_raw(path, json.dumps(data.draw(json_values)))
    parser = case.parser()
    try:
        trades = parser.parse(frame)
    except FrameError:
        return
    assert all(trade.price > 0 and trade.size > 0 for trade in trades)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(sorted(VENUES)), frame=st.binary(max_size=64) | st.text(max_size=64))
def test_random_bytes_only_raise_frame_errors(name: str, frame) -> None:
    try:
        assert isinstance(venue(name).Parser().parse(frame), list)
    except FrameError:
        pass


# --- timestamp conversion, exactly ---------------------------------------------------------

EPOCH_2021_10_12 = calendar.timegm((2021, 10, 12, 0, 28, 43)) * 10**9


@pytest.mark.parametrize("text, ns", [
    ("2021-10-12T00:28:43.123456Z", EPOCH_2021_10_12 + 123_456_000),
    ("2021-10-12T00:28:43.123456789Z", EPOCH_2021_10_12 + 123_456_789),
    ("2021-10-12T00:28:43.000000001Z", EPOCH_2021_10_12 + 1),
    ("2021-10-12T00:28:43.999999999Z", EPOCH_2021_10_12 + 999_999_999),
    ("2021-10-12T00:28:43.1Z", EPOCH_2021_10_12 + 100_000_000),
    ("2021-10-12T00:28:43Z", EPOCH_2021_10_12),
    ("2021-10-12T00:28:43.123456+00:00", EPOCH_2021_10_12 + 123_456_000),
    ("2021-10-12T02:28:43.5+02:00", EPOCH_2021_10_12 + 500_000_000),
    ("2021-10-11T19:28:43-05:00", EPOCH_2021_10_12),
    ("2021-07-22T22:36:10.014Z", 1626993370014000000),  # BitMEX sample
    ("2021-04-17T16:43:37.089723Z", 1618677817089723000),  # Coinbase sample
    ("1970-01-01T00:00:00Z", 0),
    ("2024-02-29T23:59:59.999999999Z", calendar.timegm((2024, 2, 29, 23, 59, 59)) * 10**9 + 999_999_999),
    ("2000-03-01T00:00:00Z", 951868800 * 10**9),
    ("2100-03-01T00:00:00Z", 4107542400 * 10**9),
])
def test_iso_to_ns_exact(text: str, ns: int) -> None:
    assert normalize.ns_from_iso(text) == ns


@pytest.mark.parametrize("text", [
    "2021-10-12T00:28:43", "2021-10-12T00:28:43.123", "2021-10-12 00:28:43Z", "2021-13-01T00:00:00Z",
    "2023-02-29T00:00:00Z", "2021-04-31T00:00:00Z", "2021-10-12T24:00:00Z", "2021-10-12T00:60:00Z",
    "2021-10-12T00:28:60Z", "2021-10-12T00:28:43.Z", "2021-10-12T00:28:43.1234567890Z",
    "2021-10-12T00:28:43.123ZZ", "2021-10-12T00:28:43+0000", "2021-1O-12T00:28:43Z", "+021-10-12T00:28:43Z",
    "2021-10-12T00:28:43.12a4Z", "２０２１-10-12T00:28:43Z", "", "garbage", 1634000000, None,
])
def test_iso_rejects_malformed(text) -> None:
    with pytest.raises(FrameError) as info:
        normalize.ns_from_iso(text)
    assert info.value.kind == "bad_timestamp"


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1)),
       extra=st.integers(0, 999), digits=st.integers(0, 9))
def test_iso_matches_integer_reference(moment: dt.datetime, extra: int, digits: int) -> None:
    nanos = moment.microsecond * 1000 + extra
    fraction = f"{nanos:09d}"[:digits]
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + "Z"
    whole = calendar.timegm(moment.timetuple()) * 10**9
    assert normalize.ns_from_iso(text) == whole + (int(fraction) * 10 ** (9 - digits) if digits else 0)


def test_other_time_units_exact() -> None:
    assert normalize.ns_from_decimal_seconds("1618678142.557535") == 1618678142557535000
    assert normalize.ns_from_decimal_seconds("1618678142") == 1618678142000000000
    assert normalize.ns_from_decimal_seconds("1618678142.123456789") == 1618678142123456789
    assert normalize.ns_from_ms(1633998523963) == normalize.ns_from_ms("1633998523963") == 1633998523963000000
    assert normalize.ns_from_us("1641343699596000") == 1641343699596000000
    assert normalize.ns_from_ns(1783981140085684200) == 1783981140085684200
    for bad in ("1.5.5", "-1.5", "1e9", ".5", "1.", "1.1234567890", 1.5):
        with pytest.raises(FrameError):
            normalize.ns_from_decimal_seconds(bad)


def test_prices_come_from_the_decimal_text() -> None:
    assert normalize.price("0.00001305") == 1.305e-05
    assert normalize.size("58.00000000") == 58.0
    assert normalize.price(32175) == 32175.0 and type(normalize.price(32175)) is float
    assert normalize.signed_size(-0.5) == -0.5
