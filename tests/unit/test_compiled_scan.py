"""The compiled scanners (feeds/_scan.c: Binance, OKX, Bybit) agree with the pure-Python parsers on every frame
they accept (the same trades, values and types) and say None on whatever they doubt, so ``Parser.parse`` gives
the same outcome with or without them: recorded samples, simulator frames (Binance: trade and aggTrade, raw and
combined; OKX and Bybit: batches of rows), the bad-field cases, hand-made edge cases (each field of a usual frame
replaced by odd values) and mutations, as str, bytes, bytearray and memoryview.

``make test`` sets TICKAGG_REQUIRE_COMPILED=1: there the scanner must have been built; elsewhere (no C
compiler when installed) these tests are skipped and the feeds parse in Python.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys

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
USUAL = {  # a usual frame whose every field the edge cases replace in turn
    "binance": GOOD,
    "okx": '{"arg":{"channel":"trades","instId":"B-U"},"data":[%s,%s]}' % (OKX_ROW, OKX_ROW.replace('"7"', '"8"')),
    "bybit": '{"topic":"publicTrade.BU","ts":1,"type":"snapshot","data":[%s,%s]}' % (BYBIT_ROW, BYBIT_ROW),
}
ROWS = {  # a "data" array of ``n`` rows: the scanner takes up to 64, Python the rest
    "okx": lambda n: '{"arg":{"channel":"trades"},"data":[%s]}' % ",".join([OKX_ROW] * n),
    "bybit": lambda n: '{"topic":"publicTrade.BU","data":[%s]}' % ",".join([BYBIT_ROW] * n),
}
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
    frames += good_frames(name, 300)[1] + VENUE_EDGES[name] + [USUAL[name]]
    if name in ROWS:
        frames += [ROWS[name](n) for n in (1, 63, 64, 65, 200)]
    for case in (case for case in CASES if case.venue == name and case.protocol is None):
        frames.append(case.good())
        for path in case.fields.values():
            frames.append(case.without(path))
            frames += [case.with_raw(path, fragment) for fragment in FIELDS]
    frames += [frame for fragment in FIELDS for frame in _replaced(USUAL[name], fragment)]
    sources = [frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else bytes(frame) for frame in frames]
    mutator = Mutator(seed=7)
    return frames + [mutator.mutate(mutator.rng.choice(sources)) for _ in range(MUTATED)]


@pytest.mark.parametrize("name", sorted(USUAL))
def test_the_scanner_agrees_with_the_python_parser(name: str) -> None:
    scanner = getattr(scan, name)
    compiled, python = venue(name).Parser(), venue(name).Parser()
    assert compiled.scanned is scanner
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


@pytest.mark.parametrize("name", sorted(ROWS))
def test_rows_beyond_the_scanners_limit_go_the_python_way(name: str) -> None:
    scanner = getattr(scan, name)
    assert len(scanner(ROWS[name](64))) == 64 and scanner(ROWS[name](65)) is None
    assert len(venue(name).Parser().parse(ROWS[name](65))) == 65


def test_pure_python_can_be_chosen() -> None:
    """TICKAGG_PURE_PYTHON=1: the feeds do not load the scanner (a process of their own: it is read at import)."""
    code = ("from feeds import binance, compiled, okx; "
            "print(compiled.scan is None, binance.Parser.scanned is None, okx.Parser.scanned is None)")
    for value, expected in (("1", "True True True"), ("0", "False False False")):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, PURE_PYTHON_ENV: value},
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == expected
