"""Venue instrument lists (feeds/instruments.py, feeds/universe.py): each venue's parser on its documented shape,
filters, hostile answers (wrong shapes and types, oversized, not JSON, HTTP errors) as one error naming the venue
and URL, and the fallback to the last good resolution when the venue cannot be asked."""
from __future__ import annotations

import http.server
import logging
import os
import threading
import time

import orjson
import pytest

from feeds import instruments, universe
from feeds.instruments import Instrument
from feeds.universe import UniverseError, choose, resolve
from simulator import instruments as served
from tests.support.instrument_samples import SAMPLES


@pytest.mark.parametrize("venue", sorted(SAMPLES))
def test_each_venue_list_is_read_as_documented(venue):
    path, body, expected = SAMPLES[venue]
    parsed = [item for item in instruments.PARSERS[venue](orjson.loads(orjson.dumps(body)), path) if item]
    assert [tuple(item) for item in parsed] == expected


@pytest.mark.parametrize("venue", sorted(SAMPLES))
def test_the_simulator_serves_what_the_parser_reads(venue):
    from simulator.venues import VENUES

    symbols = list(VENUES[venue].SYMBOLS)
    read = []
    for path in instruments.paths(venue, instruments.FEED_KINDS[venue]):
        read += [item for item in instruments.PARSERS[venue](orjson.loads(served.answer(venue, path, symbols)), path) if item]
    assert set(symbols) <= set(choose(read, "all"))  # listed as trading, in the venue's symbol form
    halted = [item.symbol for item in read if not item.trading]
    assert not set(halted) & set(choose(read, "all"))


ITEMS = [Instrument("A-USDT", "USDT", "spot", True), Instrument("B-USD", "USD", "spot", True),
         Instrument("C-USDT-SWAP", "USDT", "perpetual", True), Instrument("D-USDT", "USDT", "spot", False),
         Instrument("A-USDT", "USDT", "spot", True)]


@pytest.mark.parametrize("selection, expected", [
    ("all", ["A-USDT", "B-USD", "C-USDT-SWAP"]),
    ({"quote": "usdt"}, ["A-USDT", "C-USDT-SWAP"]),
    ({"quote": ["USD", "EUR"]}, ["B-USD"]),
    ({"kind": "perpetual"}, ["C-USDT-SWAP"]),
    ({"quote": ["USDT"], "kind": ["spot"]}, ["A-USDT"]),
    ({"quote": "GBP"}, []),
])
def test_filters_keep_trading_instruments_by_quote_and_kind(selection, expected):
    assert choose(ITEMS, selection) == expected


HOSTILE = [  # (venue, answer, words of the error)
    ("binance", [], "symbols"),
    ("binance", {"symbols": {"BTCUSDT": 1}}, "symbols: a list"),
    ("okx", {"code": "50011", "msg": "Too Many Requests", "data": []}, "50011"),
    ("okx", {"data": []}, "code"),
    ("kraken", {"error": ["EGeneral:Too many requests"], "result": {}}, "Too many requests"),
    ("kraken", {"error": [], "result": []}, "an object of pairs"),
    ("bybit", {"retCode": 10006, "retMsg": "Too many visits!"}, "10006"),
    ("bitfinex", {"error": "ratelimit"}, "[[pair"),
    ("bitfinex", [["BTCUSD"], ["ETHUSD"]], "[[pair"),
    ("coinbase", {"message": "NotFound"}, "a list of products"),
    ("deribit", {"jsonrpc": "2.0", "error": {"code": 10028, "message": "too_many_requests"}}, "result"),
    ("bitmex", {"error": {"message": "Rate limit exceeded"}}, "a list of instruments"),
    ("gemini", "btcusd", "a list of symbols"),
]


@pytest.mark.parametrize("venue, body, words", HOSTILE, ids=[f"{v}-{w}" for v, _, w in HOSTILE])
def test_a_wrong_shape_is_an_error_naming_venue_url_and_shape(venue, body, words):
    with _serving(orjson.dumps(body)) as url:
        with pytest.raises(UniverseError) as caught:
            universe.instruments(venue, "all", url, timeout=5)
    message = str(caught.value)
    assert message.startswith(f"{venue}: {url}/") and words in message, message


def test_entries_of_the_wrong_type_are_left_out_and_counted(caplog):
    body = {"timezone": "UTC", "symbols": [
        None, 5, "BTCUSDT", {"symbol": 7, "status": "TRADING", "quoteAsset": "USDT"},
        {"symbol": "NOQUOTE", "status": "TRADING"}, {"symbol": "BAD SYMBOL", "status": "TRADING", "quoteAsset": "X"},
        {"symbol": "ÜBERUSDT", "status": "TRADING", "quoteAsset": "USDT"},
        {"symbol": "X" * 500, "status": "TRADING", "quoteAsset": "USDT"},
        {"symbol": "ETHUSDT", "status": "TRADING", "quoteAsset": "USDT"}]}
    with _serving(orjson.dumps(body)) as url, caplog.at_level(logging.WARNING, "tickagg.universe"):
        assert resolve("binance", "all", url, None, timeout=5) == ["ETHUSDT"]
    assert "8 instrument(s)" in caplog.text


@pytest.mark.parametrize("body, status, words", [
    (b'{"symbols": [', 200, "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, 200, "not JSON"),
    (b"x" * 2048, 200, "larger than"),
    (b"<html>busy</html>", 503, "HTTP 503"),
    (b"{}", 404, "HTTP 404"),
])
def test_hostile_answers_are_one_error(monkeypatch, body, status, words):
    monkeypatch.setattr(universe, "MAX_RESPONSE_BYTES", 1024 if words == "larger than" else 1 << 20)
    with _serving(body, status) as url:
        with pytest.raises(UniverseError, match=f"^binance: {url}/api/v3/exchangeInfo: .*{words}"):
            resolve("binance", "all", url, None, timeout=5)


def test_a_redirect_elsewhere_than_http_is_refused():
    def moved(handler):
        handler.send_response(302)
        handler.send_header("Location", "file:///etc/passwd")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with _serving(b"", answer=moved) as url:
        with pytest.raises(UniverseError, match=f"^bitstamp: {url}/api/v2/trading-pairs-info/: .*file:///etc/passwd"):
            resolve("bitstamp", "all", url, None, timeout=5)


def test_an_answer_dripped_slower_than_the_timeout_is_one_error():
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            for _ in range(100):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client gave up

    with _serving(b"", answer=drip) as url:
        with pytest.raises(UniverseError, match=f"^gemini: {url}/v1/symbols: no whole answer within 1 s"):
            resolve("gemini", "all", url, None, timeout=1)


def test_an_unreachable_venue_is_one_error():
    with pytest.raises(UniverseError, match=r"^gemini: http://127.0.0.1:1/v1/symbols: .*refused"):
        resolve("gemini", "all", "http://127.0.0.1:1", None, timeout=5)


def test_the_last_good_resolution_stands_in_when_the_venue_fails(tmp_path, caplog):
    good = orjson.dumps(SAMPLES["coinbase"][1])
    cache = str(tmp_path / "universe")
    with _serving(good) as url:
        assert resolve("coinbase", {"quote": "USD"}, url, cache, timeout=5) == ["BTC-USD"]
    assert oct(os.stat(os.path.join(cache, "coinbase.json")).st_mode & 0o777) == "0o600"
    with _serving(b"oops", 500) as url, caplog.at_level(logging.WARNING, "tickagg.universe"):
        assert resolve("coinbase", {"quote": ["usd"]}, url, cache, timeout=5) == ["BTC-USD"]
    assert "HTTP 500" in caplog.text and "last good resolution (1 symbols" in caplog.text
    with pytest.raises(UniverseError, match="refused"):  # another selection: the file does not stand for it
        resolve("coinbase", "all", "http://127.0.0.1:1", cache, timeout=5)
    with pytest.raises(UniverseError):  # nor for another venue
        resolve("kraken", {"quote": "USD"}, "http://127.0.0.1:1", cache, timeout=5)


@pytest.mark.parametrize("content", [b"not json", b'{"venue": "okx", "selection": {"quote": [], "kind": []}, '
                                                   b'"symbols": [1, 2]}', b"[]", b'{"symbols": "BTC-USDT"}',
                                     # symbols no venue list would give: a subscription must never be built from them
                                     b'{"venue": "okx", "selection": {"quote": [], "kind": []}, "symbols": ["BTC,ETH"]}',
                                     b'{"venue": "okx", "selection": {"quote": [], "kind": []}, "symbols": ["A\\u001b[2J"]}',
                                     b'{"venue": "okx", "selection": {"quote": [], "kind": []}, "symbols": ["%s"]}'
                                     % (b"X" * 200)])
def test_a_damaged_cache_is_not_trusted(tmp_path, content):
    (tmp_path / "okx.json").write_bytes(content)
    with pytest.raises(UniverseError, match="refused"):
        resolve("okx", "all", "http://127.0.0.1:1", str(tmp_path), timeout=5)


def test_a_cache_that_is_a_symbolic_link_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text('{"venue": "okx", "selection": {"quote": [], "kind": []}, "symbols": ["BTC-USDT"]}')
    os.symlink(target, tmp_path / "okx.json")
    with pytest.raises(UniverseError):
        resolve("okx", "all", "http://127.0.0.1:1", str(tmp_path), timeout=5)


class _serving:
    """A one-answer HTTP server on loopback: every GET gets ``body`` with ``status`` (or what ``answer`` does)."""

    def __init__(self, body: bytes, status: int = 200, answer=None):
        body_, status_ = body, status

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if answer is not None:
                    return answer(self)
                self.send_response(status_)
                self.send_header("Content-Length", str(len(body_)))
                self.end_headers()
                self.wfile.write(body_)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_cache_that_is_a_fifo_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "okx.json")  # a plain open for reading would wait for a writer for ever
    outcome = []

    def attempt():
        try:
            resolve("okx", "all", "http://127.0.0.1:1", str(tmp_path), timeout=5)
        except UniverseError as exc:
            outcome.append(exc)
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(30)
    stuck = thread.is_alive()
    if stuck:  # in open(): give it a writer so the thread ends, then fail
        os.close(os.open(tmp_path / "okx.json", os.O_WRONLY | os.O_NONBLOCK))
        thread.join()
    assert not stuck and outcome and "refused" in str(outcome[0])
