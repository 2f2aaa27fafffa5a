"""Bad frames through every venue parser: each raises ``FrameError`` with the right
kind (or returns [] for harmless control frames) and the parser keeps working.
Bad values in a good frame's fields: test_parse_bad_fields.py; bad timestamp and
number text: test_parse_normalize.py.

Policy checked here: unknown messages raise ``unknown_message`` so they are
counted, known control frames (acks, heartbeats, info, pong) give [].
"""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.trade import BUY, SELL, FrameError, Trade
from feeds.venues import VENUES, venue
from frame_cases import CASE_IDS, CASES, Case, cases_having, expect_kind


def test_cases_cover_every_venue() -> None:
    assert {case.venue for case in CASES} == set(VENUES)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_good_frame_parses(case: Case) -> None:
    [trade] = map(Trade._make, case.parser().parse(case.good()))
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
    assert [(t.trade_id, t.side, t.size) for t in map(Trade._make, parser.replayed)] == [("2", SELL, 0.5), ("1", BUY, 0.25)]
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


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(sorted(VENUES)), frame=st.binary(max_size=64) | st.text(max_size=64))
def test_random_bytes_only_raise_frame_errors(name: str, frame) -> None:
    try:
        assert isinstance(venue(name).Parser().parse(frame), list)
    except FrameError:
        pass
