"""Timestamp and number text to nanoseconds and floats (feeds/normalize.py), exactly; malformed text raises
``bad_timestamp``."""
from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds import normalize
from feeds.trade import FrameError

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
