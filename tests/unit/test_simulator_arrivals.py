"""The simulator's market-like arrivals: deterministic for a seed, Poisson with bursts, Zipf-skewed;
the universe spread within what each venue's feed takes."""
from __future__ import annotations

import importlib
from collections import Counter

import pytest

from simulator.arrivals import Arrivals
from simulator.universe import universe
from simulator.venues import VENUES


def _run(seed: int, rate: float = 1000.0, symbols: int = 1000, seconds: float = 100.0, step: float = 0.001):
    arrivals = Arrivals(rate, symbols, seed, 0.0)
    per_tick, picks = [], Counter()
    for i in range(1, int(seconds / step) + 1):
        count = arrivals.take(i * step)
        per_tick.append(count)
        picks.update(arrivals.pick(count))
    return per_tick, picks


def test_the_same_seed_gives_the_same_arrivals_and_another_seed_others():
    first, first_picks = _run(7, seconds=5)
    again, again_picks = _run(7, seconds=5)
    other, _ = _run(8, seconds=5)
    assert first == again and first_picks == again_picks
    assert first != other


def test_the_mean_rate_holds_and_bursts_raise_it_for_a_while():
    per_tick, _ = _run(3, rate=1000.0, seconds=200.0)
    assert 0.9 * 200_000 < sum(per_tick) < 1.1 * 200_000
    per_100ms = [sum(per_tick[i:i + 100]) for i in range(0, len(per_tick), 100)]
    assert max(per_100ms) > 2.5 * 100  # a burst: 4x the calm rate
    assert min(per_100ms) < 100  # calm: below the mean


def test_a_few_symbols_carry_most_trades():
    per_tick, picks = _run(5, rate=2000.0, symbols=1000, seconds=20.0)
    total = sum(per_tick)
    top10 = sum(count for _, count in picks.most_common(10))
    assert top10 > 0.4 * total
    assert picks[0] > picks[9] > picks[99] > 0
    assert {index for index, _ in picks.most_common(3)} == {0, 1, 2}  # rank order is the venue's list order


def test_a_blocked_market_does_not_make_up_more_than_its_backlog():
    arrivals = Arrivals(1000.0, 10, 1, 0.0)
    assert arrivals.take(10.0) < 1000 * 0.05 * 4 + 20  # at most MAX_BACKLOG_S of (burst) arrivals


@pytest.mark.parametrize("total", [10, 100, 2378, 5000])
def test_the_universe_fits_each_venue_feed(total):
    from feeds.feed_command import check_symbols

    spread = universe(total, tuple(VENUES))
    assert sum(len(names) for names in spread.values()) == total
    for venue, names in spread.items():
        assert len(names) >= 1 and len(set(names)) == len(names)
        feed = importlib.import_module(f"feeds.{venue}")
        check_symbols(feed, list(names), "ws://127.0.0.1:1")  # raises past what the venue's connections take
    assert len({len(names) for names in spread.values()}) > 1 or total == 10  # uneven


def test_binance_share_of_the_seed_universe_needs_more_than_one_connection():
    from feeds import binance

    assert len(universe(2378, tuple(VENUES))["binance"]) > binance.MAX_STREAMS


def test_a_universe_too_large_for_the_venues_is_refused():
    with pytest.raises(ValueError, match="do not fit"):
        universe(len(VENUES) * 10_000, tuple(VENUES))
