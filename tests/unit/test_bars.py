"""Bars from the Numba bar builder against a numpy reference built from the same ticks."""
from __future__ import annotations

import numpy as np
import pytest

from aggregator import bars
from shm.pipeline_records import BAR

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
T0 = 1_699_999_980 * SECOND  # a minute boundary


def _ticks(seed: int, n: int, span_ns: int, symbols: int = 3):
    rng = np.random.default_rng(seed)
    ts = np.sort(T0 + rng.integers(0, span_ns, n))
    return {
        "ts": ts,
        "recv": ts + rng.integers(1_000, 5_000_000, n),
        "price": 60_000 + rng.normal(0, 5, n).cumsum(),
        "size": rng.uniform(0.001, 2.0, n),
        "side": rng.choice(np.array([-1, 0, 1]), n),
        "slot": rng.integers(0, symbols, n),
    }


def _run(ticks, interval_ns, lateness_ns, max_fill, order=None):
    book = bars.new_book(8, interval_ns, lateness_ns, max_fill)
    out = np.zeros(200_000, BAR)
    n, late = 0, 0
    indices = range(len(ticks["ts"])) if order is None else order
    for i in indices:
        slot = int(ticks["slot"][i])
        n, was_late = bars.add_tick(book, slot, slot + 100, int(ticks["ts"][i]), int(ticks["recv"][i]),
                                    float(ticks["price"][i]), float(ticks["size"][i]), int(ticks["side"][i]), out, n, 0)
        late += was_late
    end = int(ticks["ts"].max()) + 10 * interval_ns
    for slot in range(8):
        n = bars.close_due(book, slot, slot + 100, out, n, end)
    return out[:n], late, book


def _reference(ticks, interval_ns, fill: bool):
    rows = []
    for slot in np.unique(ticks["slot"]):
        mask = ticks["slot"] == slot
        ts, price, size, side, recv = (ticks[k][mask] for k in ("ts", "price", "size", "side", "recv"))
        starts = ts - ts % interval_ns
        previous_close, previous_start = None, None
        for start in np.unique(starts):
            if fill and previous_start is not None:
                for gap in range(previous_start + interval_ns, start, interval_ns):
                    rows.append((slot + 100, gap, previous_close, previous_close, previous_close, previous_close, 0.0, 0.0, 0.0, np.nan, 0))
            sel = starts == start
            p, s, d = price[sel], size[sel], side[sel]
            rows.append((slot + 100, start, p[0], p.max(), p.min(), p[-1], s.sum(), s[d > 0].sum(), s[d < 0].sum(),
                         (p * s).sum() / s.sum(), sel.sum()))
            previous_close, previous_start = p[-1], start
    return sorted(rows, key=lambda r: (r[0], r[1]))


def _as_rows(out):
    return sorted(((int(b["symbol_id"]), int(b["start_ns"]), b["open"], b["high"], b["low"], b["close"], b["volume"],
                    b["buy_volume"], b["sell_volume"], b["vwap"], int(b["count"])) for b in out), key=lambda r: (r[0], r[1]))


@pytest.mark.parametrize("interval_ns,fill", [(SECOND, 0), (MINUTE, 60)])
def test_bars_match_numpy_reference(interval_ns, fill):
    ticks = _ticks(1, 5_000, 10 * MINUTE if interval_ns == MINUTE else 20 * SECOND)
    out, late, _ = _run(ticks, interval_ns, interval_ns // 4, fill)
    assert late == 0
    got, want = _as_rows(out), _reference(ticks, interval_ns, bool(fill))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:2] == w[:2] and g[10] == w[10]
        np.testing.assert_allclose(g[2:10], w[2:10], rtol=1e-12, equal_nan=True)


def test_empty_minutes_are_filled_with_the_previous_close():
    ticks = {"ts": np.array([T0 + 1, T0 + 4 * MINUTE + 5]), "recv": np.array([T0 + 2, T0 + 4 * MINUTE + 6]),
             "price": np.array([10.0, 11.0]), "size": np.array([1.0, 2.0]), "side": np.array([1, -1]), "slot": np.array([0, 0])}
    out, _, _ = _run(ticks, MINUTE, SECOND, 60)
    assert list(out["start_ns"]) == [T0 + k * MINUTE for k in range(5)]
    assert list(out["count"]) == [1, 0, 0, 0, 1]
    assert list(out["close"]) == [10.0, 10.0, 10.0, 10.0, 11.0]
    assert np.isnan(out["vwap"][1]) and out["volume"][1] == 0.0
    assert out["flags"][0] == bars.FLAG_FIRST and out["flags"][4] == 0


def test_fill_is_capped_at_the_most_recent_intervals():
    ticks = {"ts": np.array([T0, T0 + 100 * MINUTE]), "recv": np.array([T0, T0 + 100 * MINUTE]),
             "price": np.array([10.0, 11.0]), "size": np.array([1.0, 1.0]), "side": np.array([1, 1]), "slot": np.array([0, 0])}
    out, _, _ = _run(ticks, MINUTE, SECOND, 5)
    assert list(out["start_ns"]) == [T0] + [T0 + k * MINUTE for k in range(95, 101)]


def test_one_second_bars_skip_empty_seconds():
    ticks = {"ts": np.array([T0, T0 + 5 * SECOND]), "recv": np.array([T0, T0 + 5 * SECOND]),
             "price": np.array([10.0, 11.0]), "size": np.array([1.0, 1.0]), "side": np.array([1, 1]), "slot": np.array([0, 0])}
    out, _, _ = _run(ticks, SECOND, SECOND // 4, 0)
    assert list(out["start_ns"]) == [T0, T0 + 5 * SECOND]


def test_out_of_order_tick_within_lateness_joins_its_bar_and_later_ones_are_counted_late():
    book = bars.new_book(1, SECOND, 300_000_000, 0)
    out = np.zeros(16, BAR)
    n, late = bars.add_tick(book, 0, 7, T0 + 900_000_000, 0, 10.0, 1.0, 1, out, 0, 0)
    n, late = bars.add_tick(book, 0, 7, T0 + SECOND + 100_000_000, 0, 12.0, 1.0, 1, out, n, 0)  # next second opens
    n, late = bars.add_tick(book, 0, 7, T0 + 950_000_000, 0, 9.0, 3.0, -1, out, n, 0)  # late but within 300 ms
    assert not late and n == 0
    n, late = bars.add_tick(book, 0, 7, T0 + SECOND + 400_000_000, 0, 12.5, 1.0, 1, out, n, 0)  # passes T0+1s+300ms
    assert n == 1 and not late
    first = out[0]
    assert (first["open"], first["low"], first["close"], first["volume"], first["count"]) == (10.0, 9.0, 9.0, 4.0, 2)
    n, late = bars.add_tick(book, 0, 7, T0 + 990_000_000, 0, 1.0, 100.0, 1, out, n, 0)  # its bar has closed
    assert late and n == 1 and out[0]["volume"] == 4.0  # counted, never merged


def test_wall_clock_closes_bars_after_lateness():
    book = bars.new_book(1, SECOND, 250_000_000, 0)
    out = np.zeros(4, BAR)
    n, _ = bars.add_tick(book, 0, 7, T0 + 10, 0, 10.0, 1.0, 1, out, 0, 0)
    assert not bars.due(book, 0, T0 + SECOND + 249_999_999)
    assert bars.close_due(book, 0, 7, out, n, T0 + SECOND + 249_999_999) == 0
    assert bars.due(book, 0, T0 + SECOND + 250_000_000)
    assert bars.close_due(book, 0, 7, out, n, T0 + SECOND + 250_000_000) == 1
    assert out[0]["closed_ns"] == T0 + SECOND + 250_000_000


def test_lateness_must_be_shorter_than_the_interval():
    with pytest.raises(ValueError, match="lateness must be shorter"):
        bars.new_book(1, SECOND, SECOND, 0)
