"""bench e2e's pieces that need no group: roles from command lines, quantiles of merged summaries."""
from __future__ import annotations

import math
import os

import pytest

from bench.e2e_procs import Group, role_of
from bench.e2e_store import mixture_quantile, store_latency_seconds


def test_command_lines_map_to_roles():
    assert role_of(["python", "-m", "tickagg.cli", "feed", "okx", "--group", "g"]) == "feeds"
    assert role_of(["python", "-m", "tickagg.cli", "aggregate", "--group", "g"]) == "aggregator"
    assert role_of(["python", "-m", "tickagg.cli", "write", "--group", "g"]) == "writer"
    assert role_of(["python", "-m", "simulator.simulate_command", "--rate", "1"]) == "simulator"
    assert role_of(["python", "-m", "tickagg", "run", "--simulate"]) == "supervisor"
    assert role_of(["sh", "-c", "true"]) is None


def test_a_group_is_its_root_process_and_cpu_time_only_grows():
    group = Group(os.getpid())
    assert group.processes()[os.getpid()] == "supervisor"
    before = group.cpu()
    sum(range(2_000_000))
    after = group.cpu()
    assert after[os.getpid()][1] >= before[os.getpid()][1]
    assert group.pss()["supervisor"] > 1


def test_a_mixture_quantile_weighs_each_summary_by_its_count():
    one = (100, 1.0, 2.0, 3.0, 4.0, 5.0)  # count, p50, p90, p99, p999, max
    assert math.isclose(mixture_quantile([one], 0.99), 3.0, rel_tol=1e-6)
    assert math.isclose(mixture_quantile([one, (100, 10.0, 20.0, 30.0, 40.0, 50.0)], 0.5), 2.0, rel_tol=1e-6)
    heavy = mixture_quantile([one, (10_000, 10.0, 20.0, 30.0, 40.0, 50.0)], 0.5)
    assert 9.0 < heavy < 10.5  # the busy second decides
    assert math.isnan(mixture_quantile([(0, 1, 2, 3, 4, 5)], 0.99))


class _LatencyRows:
    """A store that answers the latency rows' query (and, as an old server, no DateTime64 column)."""

    database = "db"

    def __init__(self, rows):
        self.rows, self.queries = rows, []

    def execute(self, query):
        self.queries.append(query)
        return [] if "system.columns" in query else self.rows


def test_the_store_latency_per_second_is_the_worst_venues_p99_of_each_second_in_ms():
    start = 1_000 * 10**9
    store = _LatencyRows([(start + 10**9, 30e6), (start + 2 * 10**9, 120e6), (start + 3 * 10**9, 60e6)])
    seconds = store_latency_seconds(store, start, start + 4 * 10**9)
    assert seconds == {"seconds": 3, "median": 60.0, "max": 120.0, "seconds_over_50ms": 2,
                       "worst": [(2.0, 120.0), (3.0, 60.0), (1.0, 30.0)]}
    assert "max(p99)" in store.queries[-1] and "GROUP BY" in store.queries[-1]
    assert store_latency_seconds(_LatencyRows([]), start, start + 10**9) == {"seconds": 0}


def test_the_idle_window_waits_for_the_minute_running_at_the_rate_drop_to_close():
    from bench.e2e import CLOSEOUT_SETTLE_S, closeout_wait_s

    boundary = 1_000_020.0  # a multiple of 60 s
    assert closeout_wait_s(boundary + 20.0) == pytest.approx(40.0 + CLOSEOUT_SETTLE_S)
    assert closeout_wait_s(boundary + 59.5) == pytest.approx(0.5 + CLOSEOUT_SETTLE_S)
    assert closeout_wait_s(boundary) == pytest.approx(60.0 + CLOSEOUT_SETTLE_S)  # the minute just begun


def test_reads_per_venue_are_the_counters_differences_over_the_window():
    from bench.e2e_reads import reads_per_venue

    before = {"okx": (1_000, 100, 40), "kraken": (50, 50, 0)}
    after = {"okx": (4_000, 400, 240), "kraken": (50, 50, 0), "gemini": (30, 10, 0)}  # gemini's ring appeared meanwhile
    assert reads_per_venue(before, after, 10.0) == {
        "gemini": {"reads_per_s": 1.0, "frames_per_read": 3.0, "waits_per_s": 0.0},
        "kraken": {"reads_per_s": 0.0, "frames_per_read": None, "waits_per_s": 0.0},
        "okx": {"reads_per_s": 30.0, "frames_per_read": 10.0, "waits_per_s": 20.0},
    }


def test_the_aggregators_naps_are_reported_as_the_group_runs_them():
    from aggregator.pace import IDLE_SLEEP_US, MIN_SLEEP_US
    from bench.e2e import _aggregator_naps_us

    assert _aggregator_naps_us({}) == (MIN_SLEEP_US, IDLE_SLEEP_US) == (500.0, 1000.0)
    env = {"TICKAGG__AGGREGATOR__IDLE_SLEEP_US": "200"}
    assert _aggregator_naps_us(env) == (200.0, 200.0)  # the first nap is never longer than the longest
    env["TICKAGG__AGGREGATOR__MIN_SLEEP_US"] = "100"
    assert _aggregator_naps_us(env) == (100.0, 200.0)


def test_the_latency_settings_asked_of_the_bench_reach_the_groups_environment():
    """``bench e2e --feed-batch-wait-us / --aggregator-nap-us`` win over the environment the bench inherited; the
    detail reports what the group reads from its environment (the config's rules: tickagg/config.py)."""
    from bench.e2e import _aggregator_naps_us, _latency_settings
    from bench.writer_command import writer_batch_ms
    from feeds.batching import DEFAULT_WAIT_US
    from feeds.feed_command import default_wait_us

    inherited = {"TICKAGG_FEED_BATCH_WAIT_US": "2000", "TICKAGG__AGGREGATOR__IDLE_SLEEP_US": "3000"}
    env = dict(inherited)
    _latency_settings(env, None, None)  # not asked: as inherited
    assert env == inherited and default_wait_us(env) == 2000.0 and _aggregator_naps_us(env) == (500.0, 3000.0)
    _latency_settings(env, 0.0, 2000.0)
    assert default_wait_us(env) == 0.0 and _aggregator_naps_us(env) == (2000.0, 2000.0)
    assert "TICKAGG_FEED_BATCH_WAIT_US" not in env
    assert default_wait_us({}) == DEFAULT_WAIT_US
    assert writer_batch_ms("chdb:///nowhere/store", {"TICKAGG__WRITER__BATCH_MS": "40"}) == 40.0
    assert writer_batch_ms("chdb:///nowhere/store", {}) == 200.0  # chDB's own (store/chdb_store.py)
