"""`tickagg bench e2e`, short and slow: the whole group from the simulator to the store, every figure there,
every trade the simulator wrote stored once."""
from __future__ import annotations

import math
import os
import threading

import psutil
import pytest

from bench.clickhouse_server import PASSWORD, server_binary
from bench.e2e import e2e
from store.chdb_store import ChdbStore
from store.clickhouse import ClickHouseStore
from stores import missing, need_chdb
from tickagg.priority import UNITS_NICE, may_set

KEYS = {"offered_per_s", "stored_per_s", "lost", "duplicated", "symbols", "cpu_pct_total", "cpu_pct", "pss_mb_total",
        "pss_mb", "idle_cpu_pct_total", "tick_to_signal_p50_ms", "tick_to_signal_p99_ms", "tick_to_storage_p99_ms"}
ROLES = {"feeds", "aggregator", "writer", "supervisor", "simulator"}


LATENCY_SETTINGS = ("TICKAGG__FEEDS__BATCH_WAIT_US", "TICKAGG__AGGREGATOR__MIN_SLEEP_US", "TICKAGG__AGGREGATOR__IDLE_SLEEP_US")


# chDB with the latency settings asked for (feed batching off, 2 ms aggregator naps), the server at the defaults
@pytest.mark.parametrize("store_kind, asked", [("chdb", (0.0, 2000.0)), ("clickhouse", (None, None))])
def test_a_short_run_stores_every_trade_once_and_reports_every_figure(store_kind, asked, monkeypatch):
    for name in ("TICKAGG__FEEDS__NICE", "TICKAGG__AGGREGATOR__NICE", "TICKAGG_FEED_BATCH_WAIT_US", *LATENCY_SETTINGS):
        monkeypatch.delenv(name, raising=False)  # the bench's defaults, not this shell's
    if store_kind == "chdb":
        need_chdb()
    elif server_binary() is None:  # the bench starts its own server
        missing("clickhouse-server is not installed (make test installs Debian's clickhouse-server)")
    watcher = CommandLines()
    try:
        # 3 s: CPU comes from /proc/PID/stat in 10 ms ticks, and at 600 trades/s the ten feeds together, or an
        # aggregator napping 2 ms, take 4-5 ticks in 1.5 s (a run found one of them at 0); 8-10 in 3 s
        result = e2e(rate=600, seconds=3.0, store_kind=store_kind, symbols=40, idle_seconds=1.0, warmup=0.0,
                     closeout=False, feed_batch_wait_us=asked[0], aggregator_nap_us=asked[1])
    finally:
        watcher.stop()
    assert watcher.seen > 0, "no command line of the group was read"
    wait, nap = asked  # what the feeds and the aggregator were started with (their environments), and reported
    assert watcher.settings["feed"] == {"TICKAGG__FEEDS__BATCH_WAIT_US": None if wait is None else f"{wait:g}"}
    assert watcher.settings["aggregate"] == dict.fromkeys(LATENCY_SETTINGS[1:], None if nap is None else f"{nap:g}")
    assert not watcher.secret, f"the store password on a command line: {watcher.secret[:3]}"  # server store only
    detail = result.pop("_detail")
    assert set(result) == KEYS
    assert set(result["cpu_pct"]) == set(result["pss_mb"]) == ROLES
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert detail["feed_batch_wait_us"] == (1000.0 if wait is None else wait)
    assert detail["aggregator_naps_us"] == ((500.0, 1000.0) if nap is None else (nap, nap))
    assert detail["drained"], detail["phases_s"]  # the writer's status said so (its path is tickagg run's)
    for venue, (sent, rows, distinct) in detail["per_venue_sent_rows_distinct"].items():
        assert sent == rows == distinct > 0, venue
    assert result["offered_per_s"] > 0 and 0.5 * result["offered_per_s"] < result["stored_per_s"] < 2 * result["offered_per_s"]
    assert result["symbols"] == 40
    for role in ROLES - {"supervisor"}:
        assert result["cpu_pct"][role] > 0 and result["pss_mb"][role] > 10
    assert result["pss_mb_total"] == pytest.approx(sum(result["pss_mb"][r] for r in ROLES - {"simulator"}), rel=0.2)
    assert 0 < result["tick_to_signal_p50_ms"] <= result["tick_to_signal_p99_ms"] < math.inf
    assert result["tick_to_storage_p99_ms"] > result["tick_to_signal_p50_ms"]
    assert result["idle_cpu_pct_total"] >= 0
    for stage in ("exchange_to_recv", "recv_to_pop", "pop_to_signal"):  # each tick's stage is part of its whole
        assert 0 <= detail[f"{stage}_p99_ms"] <= result["tick_to_signal_p99_ms"], (stage, detail)
    reads = detail["feed_reads"]  # from the feeds' ring header counters
    assert set(reads) == set(detail["per_venue_sent_rows_distinct"])
    assert all(r["reads_per_s"] > 0 and r["frames_per_read"] > 0 for r in reads.values()), reads
    store_class = ChdbStore if store_kind == "chdb" else ClickHouseStore
    if "TICKAGG__WRITER__BATCH_MS" not in os.environ:
        assert detail["writer_batch_ms"] == store_class.batch_ms  # the writer's batch age: its store's default
    inserts = detail["writer_inserts"]  # from the writer's status report at both ends (bench/e2e_inserts.py)
    ticks = inserts["ticks"]  # the window's ticks went in by their batch age: several inserts
    assert ticks["per_s"] > 0 and 0 < ticks["p50_ms"] <= ticks["p99_ms"] <= ticks["max_ms"], inserts
    assert 0 < ticks["busy_pct"] <= inserts["all"]["busy_pct"] <= 100, inserts
    crowd = detail["contention"]  # how crowded the CPUs were (bench/e2e_contention.py)
    assert 0 < crowd["machine_busy_pct"] <= 100
    assert set(crowd["waiting_for_cpu_pct"]) == ROLES and min(crowd["waiting_for_cpu_pct"].values()) >= 0
    assert (crowd["store_server_cpu_pct"] is None) == (store_kind == "chdb")
    assert (crowd["store_server_waiting_for_cpu_pct"] is None) == (store_kind == "chdb")
    if store_kind == "clickhouse":
        assert crowd["store_server_cpu_pct"] > 0  # it stored the window's ticks
        assert crowd["store_server_waiting_for_cpu_pct"] >= 0
    woke = detail["wakeups"]  # from /proc (bench/e2e_wakeups.py)
    assert set(woke["wakeups_per_s"]) == set(woke["cpu_us_per_wakeup"]) == set(woke["nice"]) == ROLES
    for role in ROLES - {"supervisor"}:  # each read, slept and woke in the window
        assert woke["wakeups_per_s"][role] > 0 and woke["cpu_us_per_wakeup"][role] > 0, woke
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert woke["nice"]["simulator"] == [-5 if detail["simulator_reniced"] else own]  # the bench's preference
    assert detail["group_reniced"] == may_set(UNITS_NICE)  # the units' value, where the kernel allows it
    group = UNITS_NICE if detail["group_reniced"] else own
    assert woke["nice"]["aggregator"] == [group] and woke["nice"]["feeds"] == [group], woke["nice"]
    assert woke["nice"]["writer"] == [own]


class CommandLines:
    """Reads the command line of every process the bench starts (this test's descendants) while it runs; keeps the
    count of `tickagg run` lines seen and any line holding the private server's password (the bench passes it by
    environment, never on a command line), and the latency settings in the environment of a feed and of the
    aggregator (``settings``). Other processes on the machine are none of its business."""

    def __init__(self):
        self.seen, self.secret, self._stop = 0, [], threading.Event()
        self.settings: dict[str, dict] = {}
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            for child in me.children(recursive=True):
                try:
                    line = " ".join(child.cmdline())
                except psutil.Error:
                    continue
                if "tickagg" in line and " run " in f"{line} ":
                    self.seen += 1
                if PASSWORD in line:
                    self.secret.append(line)
                for role, names in (("feed", LATENCY_SETTINGS[:1]), ("aggregate", LATENCY_SETTINGS[1:])):
                    if f"tickagg.cli {role} " in line and role not in self.settings:
                        try:
                            environ = child.environ()
                        except psutil.Error:
                            continue
                        self.settings[role] = {name: environ.get(name) for name in names}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
