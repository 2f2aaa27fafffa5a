"""One good one-trade frame per venue format and where its fields live (``CASES``), for the bad-input tests of
the venue parsers (tests/unit/test_parse_bad_*.py): they corrupt, cut or replace these frames and check the
``FrameError`` kind each gives (``expect_kind``)."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import pytest

from feeds.trade import FrameError
from feeds.venues import venue


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
        node, last = parent_of(frame, path)
        node[last] = RAW
        return json.dumps(frame).replace(f'"{RAW}"', fragment)

    def without(self, path: tuple) -> str:
        """The good frame without the field at ``path`` (arrays are cut short there)."""
        frame = copy.deepcopy(self.frame)
        node, last = parent_of(frame, path)
        if isinstance(node, list):
            del node[last:]
        else:
            del node[last]
        return json.dumps(frame)


def parent_of(frame: object, path: tuple) -> tuple[object, object]:
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
