"""The compiled scanners (feeds/_scan.c: Binance, OKX, Bybit, Coinbase, Kraken v2, Bitstamp, Gemini, BitMEX, Deribit,
Bitfinex) agree with the pure-Python parsers on every frame they accept (the same trades, values and types) and say None on
whatever they doubt, so ``Parser.parse`` gives the same outcome with or without them: recorded samples, simulator
frames (Binance: trade and aggTrade, raw and combined; OKX, Bybit and Kraken: batches of rows), the bad-field cases,
hand-made edge cases (each field of a usual frame replaced by odd values, times, numbers) and mutations, as str,
bytes, bytearray and memoryview.

``make test`` sets TICKAGG_REQUIRE_COMPILED=1: there the scanner must have been built; elsewhere (no C compiler when
installed) these tests are skipped and the feeds parse in Python.
"""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys

import orjson
import pytest
from frame_cases import CASES
from fuzz import Mutator, good_frames
from samples import frames_of, sample_lines

from feeds.compiled import PURE_PYTHON_ENV, scan
from feeds.trade import FrameError
from feeds.venues import venue

if scan is None:
    if os.environ.get("TICKAGG_REQUIRE_COMPILED") == "1":
        raise RuntimeError("feeds/_scan.c was not built: `pip install -e .` needs a C compiler and the Python headers")
    pytest.skip("the compiled scanner is not built (pure-Python parsers only)", allow_module_level=True)

FIELDS = ['"abc"', '"2"', "2", '"NaN"', '"inf"', '""', '"1_0"', '"0x10"', "null", "true", "false", "[1]", "{}", "0",
          '"0"', "-1",
          '"-1.5"', "1e-400", '"1e999"', "1.5", '"1.5"', "12", '"12"', '"\\u0661\\u0662"', '" 12"', '"12 "', '"1."',
          '".5"', '"."', '"1..2"', '"00.1"', '"1e5"', '"+1"', "01", "-0", "18446744073709551616", "9223372036854775807",
          "9223372036854775808", '"9223372036854775808"', '"99999999999999999999"', "9223372036854",
          "9223372036855", '"' + "9" * 70 + '"', '"' + "1" * 40 + '.5"', '"sell"', '"x\\"y"', '"\\u00e9"', '"é"',
          "1652459224818", '"1652459224818"', "100000000000000", '"2021-04-17T16:43:37.089723Z"']
EDGES = [
    '{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5","q":"2","T":1700000000000,"m":true,"M":true}',  # raw stream
    '{"stream":"x","data":{"m":false,"T":1700000000000,"q":"2","p":"1.5","t":5,"s":"BTCUSDT","e":"trade"}}',
    ' { "stream" : "x" , "data" : { "e" : "trade" , "s" : "B" , "t" : 5 , "p" : "1.5" , "q" : "2" , "T" : 1 ,'
    ' "m" : true } } \n',
    '{"data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true},"stream":"x"}',
    '{"data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true}}',  # "data" without "stream"
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true},"data":{}}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"t":6,"p":"1.5","q":"2","T":1,"m":true}}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true,"x":{"y":1}}}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true,"x":[1]}}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true,"E":1.5}}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true}} x',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true,}}',
    '{"stream":"x","data":{"e":"aggTrade","s":"B","a":5,"p":"1.5","q":"2","T":1,"m":false}}',
    '{"stream":"x","data":{"e":"aggTrade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":false}}',
    '{"stream":"x","data":{"e":"trade","s":"B","a":5,"p":"1.5","q":"2","T":1,"m":false}}',
    '{"stream":"x","data":{"e":"serverShutdown","E":1}}', '{"result":null,"id":1}', '{"code":1,"msg":"x"}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true}}\x00', "", "{}", "[]", "nul",
    '{"stream":"x","data":{"e":"trade","s":"B\x7f","t":5,"p":"1.5","q":"2","T":1,"m":true}}',
    '{"stream":"x","data":{"e":"trade","s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true}}\ud800',
]
GOOD = '{"stream":"x","data":{"e":"trade","E":7,"s":"B","t":5,"p":"1.5","q":"2","T":1,"m":true,"M":true}}'
OKX_ROW = '{"instId":"B-U","tradeId":"7","px":"1.5","sz":"2","side":"buy","ts":"1700000000000","count":"1"}'
BYBIT_ROW = '{"i":"7","T":1700000000000,"p":"1.5","v":"2","S":"Buy","s":"BU","BT":false}'
KRAKEN_ROW = ('{"symbol":"B/U","side":"buy","price":1.5,"qty":2.25,"ord_type":"market","trade_id":7,'
              '"timestamp":"2023-09-25T07:49:37.708706Z"}')
BITMEX_ROW = ('{"timestamp":"2021-07-22T22:36:19.764Z","symbol":"MATICUSDT","side":"Sell","size":1199,"price":0.8795,'
              '"tickDirection":"PlusTick","trdMatchID":"3b2d6d74-b858-2413-ec15-715b1e7a251c","grossValue":10545205}')
DERIBIT_ROW = ('{"trade_seq":40781986,"trade_id":"66460463","timestamp":1584058044032,"tick_direction":3,'
               '"price":4469.5,"liquidation":"T","instrument_name":"BTC-PERPETUAL","index_price":4805.41,'
               '"direction":"sell","amount":1120}')
DERIBIT = '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.B.100ms","data":[%s]}}'
USUAL = {  # a usual frame whose every field the edge cases replace in turn
    "binance": GOOD,
    "okx": '{"arg":{"channel":"trades","instId":"B-U"},"data":[%s,%s]}' % (OKX_ROW, OKX_ROW.replace('"7"', '"8"')),
    "bybit": '{"topic":"publicTrade.BU","ts":1,"type":"snapshot","data":[%s,%s]}' % (BYBIT_ROW, BYBIT_ROW),
    "coinbase": '{"type":"match","trade_id":7,"maker_order_id":"a-b","side":"sell","size":"2","price":"1.5",'
                '"product_id":"B-U","sequence":9,"time":"2021-04-17T16:43:37.089723Z"}',
    "kraken": '{"channel":"trade","type":"update","data":[%s,%s]}' % (KRAKEN_ROW, KRAKEN_ROW),
    "bitstamp": '{"data":{"id":7,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000","price":3805.44,'
                '"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000","buy_order_id":1443875737346049},'
                '"channel":"live_trades_ethusd","event":"trade"}',
    "gemini": '{"E":1783981140085684200,"s":"btcrlusd","t":2840141014190422,"p":"62145.38000","q":"0.0162522200",'
              '"m":true}',
    "bitmex": '{"table":"trade","action":"insert","data":[%s,%s]}' % (BITMEX_ROW, BITMEX_ROW.replace('"Sell"', '"Buy"')),
    "bitfinex": '[17,"te",[382489563,1564617600709,0.00705845,10087.98969503],18,1564617600784]',
    "deribit": '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms","data":[%s,%s]}}'
               % (DERIBIT_ROW, DERIBIT_ROW.replace('"trade_seq":40781986', '"trade_seq":40781987')),
}
USUAL_BITSTAMP, USUAL_GEMINI = USUAL["bitstamp"], USUAL["gemini"]
ROWS = {  # a "data" array of ``n`` rows: the scanner takes up to 64, Python the rest
    "okx": lambda n: '{"arg":{"channel":"trades"},"data":[%s]}' % ",".join([OKX_ROW] * n),
    "bybit": lambda n: '{"topic":"publicTrade.BU","data":[%s]}' % ",".join([BYBIT_ROW] * n),
    "kraken": lambda n: '{"channel":"trade","type":"update","data":[%s]}' % ",".join([KRAKEN_ROW] * n),
    "bitmex": lambda n: '{"table":"trade","action":"insert","data":[%s]}' % ",".join([BITMEX_ROW] * n),
    "deribit": lambda n: DERIBIT % ",".join([DERIBIT_ROW] * n),
}
TIMES = ["2021-04-17T16:43:37Z", "2021-04-17T16:43:37.1Z", "2021-04-17T16:43:37.123456789Z",
         "2021-04-17T16:43:37.1234567891Z", "2021-04-17T16:43:37.Z", "2021-04-17t16:43:37.5Z", "2021-04-17T16:43:37.5z",
         "2021-04-17T16:43:37.5+00:00", "2021-04-17T16:43:37.5", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
         "2000-02-29T23:59:59.999999999Z", "1900-02-29T00:00:00Z", "2021-13-01T00:00:00Z", "2021-00-10T00:00:00Z",
         "2021-04-31T00:00:00Z", "2021-04-17T24:00:00Z", "2021-04-17T23:60:00Z", "2021-04-17T23:59:60Z",
         "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "2262-04-11T23:47:16.854775807Z",
         "2262-04-11T23:47:16.854775808Z", "2262-04-11T23:47:17Z", "9999-12-31T23:59:59Z", "2021-04-17 16:43:37Z",
         "2021-4-17T16:43:37.5Z", "2021-04-17T16:43:3a.5Z", "2021-04-17T16:43:37.5a5Z", "２０２１-04-17T16:43:37Z"]
ISO_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
FLOATS = ["1.5", "0.1", "5.0", "5", "0.0", "-1.5", "1e5", "1.5e2", "1.5E-2", "123456789012345.5", "0.1234567890123456",
          "1." + "0" * 22 + "1", "01.5", "1.", ".5", "1.5.5", "1" * 30 + ".5"]
VENUE_EDGES = {
    "binance": EDGES,
    "okx": ['{"arg":{"channel":"trades"},"data":[]}', '{"arg":{"channel":"books"},"data":[%s]}' % OKX_ROW,
            '{"data":[%s],"arg":{"channel":"trades"}}' % OKX_ROW, '{"data":[%s]}' % OKX_ROW,
            '{"arg":{"channel":"trades"},"data":[%s],"data":[]}' % OKX_ROW, '{"arg":{"channel":"trades"},"data":{}}',
            '{"arg":{"channel":"trades"},"data":[%s,1]}' % OKX_ROW, '{"arg":"trades","data":[%s]}' % OKX_ROW,
            '{"arg":{"channel":"trades"},"data":[%s]}' % OKX_ROW.replace(',"count":"1"', ''),
            '{"arg":{"channel":"trades"},"data":[%s]}' % OKX_ROW.replace('"count":"1"', '"count":1'),
            '{"arg":{"channel":"trades","channel":"trades"},"data":[%s]}' % OKX_ROW, '{"event":"subscribe"}', "pong"],
    "bybit": ['{"topic":"publicTrade.BU","data":[]}', '{"topic":"orderbook.BU","data":[%s]}' % BYBIT_ROW,
              '{"data":[%s]}' % BYBIT_ROW, '{"topic":"publicTrade.","data":[%s]}' % BYBIT_ROW,
              '{"topic":"publicTrade.BU","data":[%s],"x":[1]}' % BYBIT_ROW, '{"topic":"publicTrade.BU","data":[[]]}',
              '{"success":true,"op":"subscribe"}', '{"topic":"publicTrade.BU","data":[%s]}' % BYBIT_ROW[:-1]],
    "coinbase": ['{"type":"last_match","trade_id":7,"side":"sell","size":"2","price":"1.5","product_id":"B-U",'
                 '"time":"2021-04-17T16:43:37.089723Z"}', '{"type":"heartbeat","sequence":1}',
                 '{"type":"subscriptions","channels":[{"name":"matches","product_ids":["B-U"]}]}',
                 '{"type":"error","message":"x"}'],
    "kraken": ['{"channel":"trade","type":"snapshot","data":[%s]}' % KRAKEN_ROW, '{"channel":"heartbeat"}',
               '{"channel":"trade","type":"update","data":[]}', '[993,[["1.5","2","1618678142.557535","s","l",""]],'
               '"trade","XMR/USD"]', '{"method":"subscribe","success":true,"result":{"channel":"trade"}}'],
    "bitstamp": [USUAL_BITSTAMP.replace('"id":7', '"id":7,"id_str":"8"'),
                 USUAL_BITSTAMP.replace('"id":7', '"id_str":"8"'), USUAL_BITSTAMP.replace('"id":7', '"id":"x1"'),
                 USUAL_BITSTAMP.replace('"id":7', '"id":""'), USUAL_BITSTAMP.replace('"id":7', '"id":7,"id_str":7'),
                 USUAL_BITSTAMP.replace('"id":7,', ''), USUAL_BITSTAMP.replace('"price_str":"3805.44",', ''),
                 USUAL_BITSTAMP.replace('"amount_str":"0.07920000",', ''),
                 USUAL_BITSTAMP.replace('"type":0', '"type":1'), USUAL_BITSTAMP.replace('"type":0', '"type":2'),
                 USUAL_BITSTAMP.replace('"type":0', '"type":true'), USUAL_BITSTAMP.replace('"type":0', '"type":0.0'),
                 USUAL_BITSTAMP.replace("live_trades_ethusd", "live_trades_"),
                 USUAL_BITSTAMP.replace("live_trades_ethusd", "live_orders_ethusd"),
                 USUAL_BITSTAMP.replace('"1641343699596000"', '"9223372036854775"'),
                 USUAL_BITSTAMP.replace('"1641343699596000"', '"9223372036854776"'),
                 USUAL_BITSTAMP.replace('"1641343699596000"', '"99999999999999999999"'),
                 '{"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}}',
                 '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}',
                 '{"event":"bts:error","channel":"","data":{"code":null,"message":"x"}}'],
    "gemini": [USUAL_GEMINI.replace('"m":true', '"m":false'), USUAL_GEMINI.replace('"t":2840141014190422,', ''),
               USUAL_GEMINI.replace('"E":1783981140085684200', '"E":9223372036854775807'),
               USUAL_GEMINI.replace('"E":1783981140085684200', '"E":9223372036854775808'),
               USUAL_GEMINI.replace('"s":"btcrlusd"', '"s":5'), USUAL_GEMINI.replace('"t":2840141014190422', '"t":"7"'),
               '{"type":"trade","symbol":"ANKRUSD","event_id":45465818387,"timestamp":1624493670759,'
               '"price":"0.07946","quantity":"1020.482111","side":"buy"}', '{"id":0,"status":200}',
               '{"id":1,"result":null}'],
    "bitmex": ['{"table":"trade","action":"partial","data":[%s]}' % BITMEX_ROW,
               '{"table":"trade","action":"insert","data":[]}', '{"table":"quote","action":"insert","data":[]}',
               '{"info":"Welcome to the BitMEX Realtime API.","version":"2.0"}', '{"success":true,"subscribe":"x"}',
               '{"status":400,"error":"Unknown table: x"}', "pong",
               '{"table":"trade","action":"insert","data":[%s]}' % BITMEX_ROW.replace('"size":1199', '"size":0'),
               '{"table":"trade","action":"insert","data":[%s]}' % BITMEX_ROW.replace('"size":1199', '"size":1199.0'),
               '{"table":"trade","action":"insert","data":[%s]}' % BITMEX_ROW.replace('"price":0.8795', '"price":8'),
               '{"table":"trade","action":"insert","data":[%s]}' % BITMEX_ROW.replace(
                   '"size":1199', '"size":9007199254740993'),
               '{"table":"trade","action":"insert","data":[%s]}' % BITMEX_ROW.replace('"trdMatchID":"3b2d', '"x":"'),
               '{"table":"trade","action":"insert","data":[%s]}' % BITMEX_ROW.replace('"Sell"', '""')],
    "bitfinex": ['[17,"te",[1,2,-0.5,3.5]]', '[17,"te",[1,2,0,3.5]]', '[17,"te",[1,2,-0.0,3.5]]', '[17,"te",[1,2,0.5,-3.5]]',
                 '[17,"te",[1,2,0.5,0]]', '[17,"te",[1,2,5,3]]', '[17,"te",[-1,2,0.5,3.5]]', '[17,"te",[1,-2,0.5,3.5]]',
                 '[17,"te",[1,9223372036855,0.5,3.5]]', '[17,"te",[1,9223372036854,0.5,3.5]]',
                 '[17,"te",[18446744073709551616,2,0.5,3.5]]', '[17,"te",[1,2,0.5]]', '[17,"te",[1,2,0.5,3.5,"x",null]]',
                 '[17,"te",[1,2,0.5,3.5,[1]]]', '[17,"te",[1,2,0.5,3.5],{"a":1}]', '[17,"te",[1,2,0.5,3.5],[1,2],3]',
                 '[17,"fte",[1,2,0.5,3.5]]', '[17,"tu",[1,2,0.5,3.5]]', '[17,"ftu",[1,2,0.5,3.5],5]', '[17,"hb"]',
                 '[17,"hb",{"x":[1]}]', '["17","hb"]', '[null,"hb"]', '[17.5,"hb"]', '[18,"te",[1,2,0.5,3.5]]',
                 '[17,"tex",[1,2,0.5,3.5]]', '[17,"te"]', '[17,"te",5]', '[17]', '[]', '[17,"hb"] x', '[17,"hb"',
                 '[17,[[1,2,0.5,3.5],[2,3,-0.5,3.5]]]', '[17,"te",[1,2,1e-3,3.5]]', '[17,"te",[1,2,0.5,"3.5"]]',
                 '[17, "te" , [ 1 , 2 , 0.5 , 3.5 ] ]', '[17,"te",[1,2,0.5,3.5]]\n',
                 '{"event":"unsubscribed","status":"OK","chanId":17}', '[17,"te",[1,2,0.5,3.5]]',
                 '{"event":"subscribed","channel":"trades","chanId":17,"symbol":"tBTCUSD","pair":"BTCUSD"}'],
    "deribit": ['{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.B.100ms","data":[%s]}}' % DERIBIT_ROW,
                '{"jsonrpc":"2.0","method":"subscription","params":{"data":[%s],"channel":"trades.B"}}' % DERIBIT_ROW,
                '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.B"},"data":[%s]}' % DERIBIT_ROW,
                '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.B","data":[]}}',
                '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.B","data":{}}}',
                '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.B","data":[%s],"data":[]}}'
                % DERIBIT_ROW, '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.B","x":[1]}}',
                '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}',
                '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}',
                '{"jsonrpc":"2.0","id":2,"result":["trades.B.100ms"]}', '{"jsonrpc":"2.0","id":2,"error":{"code":1}}',
                DERIBIT % DERIBIT_ROW.replace('"amount":1120', '"amount":1120.5'),
                DERIBIT % DERIBIT_ROW.replace('"trade_seq":40781986', '"trade_seq":"40781986"'),
                DERIBIT % DERIBIT_ROW.replace('"timestamp":1584058044032', '"timestamp":9223372036855'),
                DERIBIT % DERIBIT_ROW.replace('"direction":"sell"', '"direction":"buy"')],
}
MUTATED = 10_000


def _outcome(parse, frame) -> tuple:
    try:
        return "trades", repr([tuple(trade) for trade in parse(frame)])  # repr: 1 and 1.0 differ
    except FrameError as exc:
        return "error", exc.kind, str(exc)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return "crash", type(exc).__name__, str(exc)


def _replaced(frame: str, fragment: str) -> list[str]:
    """``frame`` with each scalar member's value (the first of each key) replaced by ``fragment`` in turn."""
    out, at = [], 0
    while (colon := frame.find('":', at)) >= 0:
        start = colon + 2
        at = start
        if frame[start] in "{[":
            continue
        stop = start + 1
        while frame[stop] not in ",}]" or (frame[start] == '"' and frame[stop - 1] != '"'):
            stop += 1
        out.append(frame[:start] + fragment + frame[stop:])
    return out


def _frames(name: str) -> list:
    frames = [frame for sample in sample_lines(name) for frame in frames_of(sample)]
    setup, good, _, _ = good_frames(name, 300)  # setup: Bitfinex's channel, for both parsers
    frames += setup + good + VENUE_EDGES[name] + [USUAL[name]]
    if name in ROWS:
        frames += [ROWS[name](n) for n in (1, 63, 64, 65, 200)]
    for case in (case for case in CASES if case.venue == name and case.protocol is None):
        frames += list(case.setup)
        frames.append(case.good())
        for path in case.fields.values():
            frames.append(case.without(path))
            frames += [case.with_raw(path, fragment) for fragment in FIELDS]
    frames += [frame for fragment in FIELDS for frame in _replaced(USUAL[name], fragment)]
    if name in ("coinbase", "kraken", "bitmex", "deribit"):  # times; JSON number prices and sizes
        frames += [frame for text in TIMES for frame in _replaced(USUAL[name], f'"{text}"')]
        frames += [frame for number in FLOATS for frame in _replaced(USUAL[name], number)]
    sources = [frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else bytes(frame) for frame in frames]
    mutator = Mutator(seed=7)
    return frames + [mutator.mutate(mutator.rng.choice(sources)) for _ in range(MUTATED)]


@pytest.mark.parametrize("name", sorted(USUAL))
def test_the_scanner_agrees_with_the_python_parser(name: str) -> None:
    compiled, python = venue(name).Parser(), venue(name).Parser()
    scanner = compiled.scanned
    if name == "bitfinex":  # the scanner takes the parser's channel map
        assert scanner.func is scan.bitfinex and scanner.args == (compiled.symbols,)
    else:
        assert scanner is getattr(scan, name)
    python.scanned = None  # this parser's frames go the Python way
    accepted = 0
    for frame in _frames(name):
        raw = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else bytes(frame)
        for given in (frame, raw, bytearray(raw), memoryview(raw)):
            expected = _outcome(python.parse, given)
            assert _outcome(compiled.parse, given) == expected, given
            assert (compiled.replayed, compiled.replies) == (python.replayed, python.replies), given
            scanned = scanner(given)
            if scanned is not None:
                assert expected == ("trades", repr(scanned)), given
                accepted += 1
    good = good_frames(name, 300)[1]
    assert all(scanner(frame) is not None for frame in good)  # the simulator's frames take the compiled path
    assert scanner(USUAL[name]) is not None and accepted > 4 * len(good)


def test_frames_the_scanner_doubts() -> None:
    """A few of the doubts by name: the Python parser reads these (and says what is wrong with the bad ones)."""
    assert scan.binance(GOOD) is not None
    for doubt in (GOOD.replace('"1.5"', '"1e5"'), GOOD.replace('"B"', '"\\u0042"'), GOOD.replace('"t":5', '"t":05'),
                  GOOD.replace('"m":true', '"m":1'), GOOD + " x", GOOD.replace('"t":5', '"t":5,"t":5'),
                  GOOD.replace('"T":1', '"T":9223372036855'), GOOD.replace('"q":"2"', '"q":"0"'),
                  b"\xff" + GOOD.encode(),
                  GOOD.replace('"B"', '"é"'), 12, None, [GOOD]):
        assert scan.binance(doubt) is None, doubt


def test_prices_and_sizes_are_read_as_float_reads_them() -> None:
    """The scanner's exact fast path (up to 15 significant digits and 22 decimals) and its fallback give
    float()'s value to the bit, and refuse what float() refuses or what is not positive."""
    rng = random.Random(5)
    texts = ["0.1", "123456789012345", "1234567890123456", "9007199254740993", "0." + "0" * 21 + "1",
             "0." + "0" * 22 + "1", "000.5", "1." + "0" * 30, "0", "0.0", ".", "5.", ".5", "1" * 63, "1" * 64]
    for _ in range(100_000):
        whole = str(rng.randrange(10 ** rng.randrange(1, 17))) if rng.random() < 0.9 else ""
        part = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 25)))
        texts.append(whole + ("." + part if part or not whole else ""))
    for text in texts:
        frame = '{"e":"trade","s":"B","t":5,"p":"%s","q":"2","T":1,"m":true}' % text
        scanned = scan.binance(frame)
        try:
            wanted = float(text)
        except ValueError:
            wanted = 0.0
        if 0.0 < wanted < float("inf") and len(text) < 64:
            assert scanned is not None and repr(scanned[0][1]) == repr(wanted), text
        else:
            assert scanned is None, text


def test_json_numbers_are_read_as_orjson_reads_them() -> None:
    """Kraken's prices and sizes are JSON numbers: where the scanner takes one (a fraction, no exponent, up to 15
    significant digits and 22 decimals) it is orjson's float to the bit."""
    rng = random.Random(3)
    accepted = 0
    for _ in range(50_000):
        whole = str(rng.randrange(10 ** rng.randrange(1, 17)))
        number = whole + "." + "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 25)))
        scanned = scan.kraken(USUAL["kraken"].replace('"price":1.5', f'"price":{number}', 1))
        if scanned is not None:
            assert repr(scanned[0][1]) == repr(orjson.loads(number)), number
            accepted += 1
    assert accepted > 10_000


def test_times_are_read_as_the_python_parser_reads_them() -> None:
    """The edge times and random ones (real and impossible dates and clocks, 0 to 10 fraction digits, in and out
    of the int64 ns range): in the form it reads (``T``, ``Z``, up to 9 fraction digits), the Coinbase scanner
    gives normalize.ns_from_iso's ns where Python takes the time and None where Python refuses it."""
    rng = random.Random(11)
    python = venue("coinbase").Parser()
    python.scanned = None
    texts = list(TIMES)
    for _ in range(30_000):
        year = rng.choice([rng.randrange(1960, 2300), rng.randrange(0, 10000), 2000, 1900])
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 11)))
        texts.append("%04d-%02d-%02dT%02d:%02d:%02d%sZ" % (
            year, rng.randrange(0, 14), rng.randrange(0, 33), rng.randrange(0, 25), rng.randrange(0, 61),
            rng.randrange(0, 61), "." + fraction if fraction or rng.random() < 0.05 else ""))
    accepted = 0
    for text in texts:
        frame = USUAL["coinbase"].replace("2021-04-17T16:43:37.089723Z", text)
        scanned = scan.coinbase(frame)
        expected = _outcome(python.parse, frame)
        if scanned is not None:
            assert expected == ("trades", repr(scanned)), text
            accepted += 1
        elif ISO_FORM.fullmatch(text):
            assert expected[0] == "error", text
    assert accepted > 3000


@pytest.mark.parametrize("name", sorted(ROWS))
def test_rows_beyond_the_scanners_limit_go_the_python_way(name: str) -> None:
    scanner = getattr(scan, name)
    assert len(scanner(ROWS[name](64))) == 64 and scanner(ROWS[name](65)) is None
    assert len(venue(name).Parser().parse(ROWS[name](65))) == 65


def test_pure_python_can_be_chosen() -> None:
    """TICKAGG_PURE_PYTHON=1: the feeds load neither the scanners nor the staging loop (a process of their own:
    it is read at import)."""
    code = ("from feeds import binance, compiled, okx; "
            "print(compiled.scan is None, binance.Parser.scanned is None, okx.Parser.scanned is None, "
            "compiled.stage is None)")
    for value, expected in (("1", "True True True True"), ("0", "False False False False")):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, PURE_PYTHON_ENV: value},
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == expected
