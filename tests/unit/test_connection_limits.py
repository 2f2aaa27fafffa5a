"""The per-venue connection limits and the split of a symbol list into connections (feeds/connection_limits.py)."""
from __future__ import annotations

import pytest

from feeds import binance, bitfinex, coinbase_advanced
from feeds.connection_limits import LIMITS, MessageBucket, OpenPacer, limits_for, split
from feeds.feed_command import check_symbols
from feeds.venues import VENUES
from tickagg.args import UsageError


@pytest.mark.parametrize("count, sizes", [(1, [1]), (1024, [1024]), (1025, [513, 512]), (2500, [834, 833, 833])])
def test_binance_symbols_split_evenly_into_as_few_connections_as_the_limit_needs(count, sizes):
    symbols = [f"S{n}" for n in range(count)]
    chunks = split(symbols, limits_for(binance))
    assert [len(chunk) for chunk in chunks] == sizes
    assert [symbol for chunk in chunks for symbol in chunk] == symbols  # every symbol once, in order


def test_every_venue_has_limits_its_own_module_accepts_for_a_full_connection():
    for name, module in [*VENUES.items(), ("coinbase_advanced", coinbase_advanced)]:
        limits = limits_for(module)
        assert limits is LIMITS[name]
        full = [f"S{n}" for n in range(limits.per_connection)]
        module.url_for(module.URL, full)  # raises ValueError past the venue's own cap
        module.subscribe_messages(full)
    assert limits_for(bitfinex).per_connection == bitfinex.MAX_CHANNELS
    assert limits_for(binance).per_connection == binance.MAX_STREAMS


def test_fewer_symbols_per_connection_may_be_asked_never_more():
    assert limits_for(bitfinex, 10).per_connection == 10
    assert limits_for(bitfinex, 1000).per_connection == 25
    assert [len(chunk) for chunk in split([f"t{n}" for n in range(6)], limits_for(bitfinex, 2))] == [2, 2, 2]


def test_the_open_pacer_allows_the_venues_attempts_per_window():
    pacer = OpenPacer(LIMITS["bitfinex"])  # 20 per 60 s
    for second in range(20):
        assert pacer.wait(float(second)) == 0.0
        pacer.opened(float(second))
    assert pacer.wait(20.0) == pytest.approx(40.0)  # the first attempt leaves the window at 60 s
    assert pacer.wait(60.0) == 0.0


def test_the_message_bucket_allows_a_seconds_worth_then_the_rate():
    bucket = MessageBucket(LIMITS["okx"], now=0.0)  # 3 frames/s
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait() == pytest.approx(1 / 3)
    assert bucket.take(1 / 3 + 1e-9) and not bucket.take(1 / 3 + 1e-9)


def test_more_connections_than_the_venue_allows_are_refused():
    check_symbols(VENUES["deribit"], [f"D{n}" for n in range(32 * 500)], VENUES["deribit"].URL)  # 32: allowed
    with pytest.raises(UsageError, match="33 connections"):
        check_symbols(VENUES["deribit"], [f"D{n}" for n in range(32 * 500 + 1)], VENUES["deribit"].URL)
