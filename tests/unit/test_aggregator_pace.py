"""aggregator/pace.py: quiet (long slices, deep naps) only after a whole window with few ticks; a burst ends it."""
from __future__ import annotations

from aggregator.pace import CHECK_S, QUIET_SLICE_S, QUIET_TICKS, QUIET_WINDOW_S, SLICE_S, Pace


def _run(pace: Pace, start: float, seconds: float, ticks_per_slice: int) -> float:
    now = start
    while now < start + seconds:
        now += QUIET_SLICE_S if pace.quiet else SLICE_S
        pace.after_slice(now, ticks_per_slice)
    return now


def test_quiet_after_a_whole_window_with_few_ticks_and_normal_again_after_a_burst():
    pace = Pace(1000, 5000, 0.0)
    now = _run(pace, 0.0, QUIET_WINDOW_S * 0.9, 0)
    assert not pace.quiet and pace.sleep_us == 1000 and pace.slice_ns == int(SLICE_S * 1e9)  # window not yet full
    now = _run(pace, now, QUIET_WINDOW_S, 0)
    assert pace.quiet and pace.sleep_us == 5000 and pace.slice_ns == int(QUIET_SLICE_S * 1e9)
    assert pace.max_ticks == QUIET_TICKS  # a burst ends a quiet slice early
    now = _run(pace, now, 3 * QUIET_WINDOW_S, 1)  # a trickle (<= QUIET_TICKS a window) stays quiet
    assert pace.quiet
    pace.after_slice(now + QUIET_SLICE_S, QUIET_TICKS + 1)  # a burst: the next slice is normal
    assert not pace.quiet and pace.sleep_us == 1000 and pace.max_ticks == 0
    now = _run(pace, now + QUIET_SLICE_S, QUIET_WINDOW_S * 0.9, 0)
    assert not pace.quiet  # the burst is still in the window
    _run(pace, now, QUIET_WINDOW_S, 0)
    assert pace.quiet


def test_never_quiet_when_busy_polling_or_when_deep_sleep_is_not_deeper():
    for max_sleep_us, deep_sleep_us in ((0, 5000), (5000, 5000), (200_000, 5000), (1000, 0)):
        pace = Pace(max_sleep_us, deep_sleep_us, 0.0)
        _run(pace, 0.0, 5 * QUIET_WINDOW_S, 0)
        assert not pace.quiet and pace.sleep_us == max_sleep_us


def test_deep_sleep_is_capped_to_keep_the_ring_check_bound():
    pace = Pace(1000, 10**9, 0.0)
    _run(pace, 0.0, 2 * QUIET_WINDOW_S, 0)
    assert pace.quiet and CHECK_S + pace.sleep_us / 1e6 < 0.25  # the kernel checks the ring files every CHECK_S
