"""Bad values in the fields of a good frame, through every venue parser: each raises ``FrameError`` with the
kind of the field (``bad_price``, ``bad_timestamp`` ...) and the parser keeps working.

Policy checked here: a frame with several trades where one is bad raises for the
whole frame (no partial result).
"""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.trade import SELL, FrameError, Trade
from frame_cases import CASE_IDS, CASES, ROLES, Case, cases_with, expect_kind, parent_of


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_each_role_is_a_field_of_the_frame_or_said_to_be_absent(case: Case) -> None:
    """A role left out of ``fields`` would silently drop its corruption tests: it must be named absent."""
    assert not set(case.fields) & set(case.absent) and set(case.fields) | set(case.absent) == set(ROLES)
    for path in case.fields.values():
        parent_of(case.frame, path)


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
            [trade] = map(Trade._make, case.parser().parse(frame))  # Bitfinex: a negative AMOUNT is a taker sell
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
        trades = [Trade._make(trade) for trade in parser.parse(frame)]
    except FrameError:
        return
    assert all(trade.price > 0 and trade.size > 0 for trade in trades)
