"""The dashboard's parameters: untrusted query-string values become ints or are refused with a message, and a
rendered statement carries no text from the request (store/panels.py)."""
from __future__ import annotations

import pytest

from store.panels import MAX_POINTS, PANELS, BadParameter, Params, render, step_for

NOW = 1_800_000_000


@pytest.mark.parametrize("values, message", [
    ({"range": "-5"}, "range"), ({"range": "5"}, "range"), ({"range": "1e9"}, "range"), ({"range": "300 OR 1"}, "range"),
    ({"range": "99999999"}, "range"), ({"exchange": "binance' OR '1"}, "exchange"), ({"symbol_id": "1; DROP"}, "symbol_id"),
    ({"symbol_id": str(1 << 40)}, "symbol_id"), ({"sql": "SELECT 1"}, "unknown parameter"), ({"to": "x"}, "to"),
    ({"range": "３００"}, "range"),  # non-ASCII digits: int() would take them
    ({"to": "100"}, "to"),  # a range that would start before 1970: a negative from_s, which the writer refuses
    ({"to": str(1 << 33)}, "to"),  # past DateTime (UInt32): toDateTime wraps it round
])
def test_bad_values_are_refused_by_name(values, message):
    with pytest.raises(BadParameter, match=message):
        Params.parse(values, NOW)


def test_good_values_become_ints():
    params = Params.parse({"range": "3600", "exchange": "okx", "symbol_id": "12"}, NOW)
    assert params == Params(NOW - 3600, NOW, 2, 12)
    assert Params.parse({}, NOW).range_s == 300


@pytest.mark.parametrize("document", [
    None, [], {"from_s": 0, "to_s": 300, "extra": 1}, {"from_s": "0", "to_s": 300}, {"from_s": 0, "to_s": 10},
    {"from_s": 0, "to_s": 300, "symbol_id": -1}, {"from_s": 0, "to_s": 300, "exchange_id": 1.5},
    {"from_s": True, "to_s": 300}, {"from_s": (1 << 33) - 300, "to_s": 1 << 33},
])
def test_params_from_another_process_are_checked_again(document):
    with pytest.raises(BadParameter):
        Params.from_json(document)


def test_params_round_trip_through_json():
    params = Params(NOW - 600, NOW, 3, 9)
    assert Params.from_json(params.to_json()) == params


@pytest.mark.parametrize("range_s", [60, 300, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600])
def test_a_range_never_has_more_than_max_points_buckets(range_s):
    step = step_for(range_s)
    assert range_s / step <= MAX_POINTS and (step == 1 or range_s / step > MAX_POINTS / 10)


def test_rendered_sql_has_the_numbers_only_and_a_symbol_panel_needs_its_symbol():
    statements = render(PANELS["tick_to_store"], Params(NOW - 300, NOW, 1, None), "tickagg")
    assert f"toDateTime({NOW})" in statements[0] and "exchange_id = 1" in statements[0]
    with pytest.raises(BadParameter, match="symbol_id"):
        render(PANELS["regime"], Params(NOW - 300, NOW), "tickagg")
    with pytest.raises(BadParameter, match="database"):
        render(PANELS["stages"], Params(NOW - 300, NOW), "x; DROP")
