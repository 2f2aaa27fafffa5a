"""The writer SIGKILLed again and again while it compacts its commit log, during an outage (spilling many small
batches) and while it replays the spill: every tick stored exactly once, by query."""
from __future__ import annotations

import os
import random
import time

import pytest
from stores import start_server

from bench.writer_command import WriterProcess, create_ring, remove_group, start_producer
from store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def _stored(url: str) -> tuple[int, int]:
    store = open_store(url)
    store.connect()
    try:
        rows, distinct = store.execute(f"SELECT count(), uniqExact(seq) FROM {store.database}.ticks")[0]
        return int(rows), int(distinct)
    finally:
        store.close()


def _wait_started(writer: WriterProcess, timeout_s: float = 120.0) -> None:
    """Until the writer's first report (it has opened its commit log, spill and rings), whether the store is up or not."""
    deadline = time.monotonic() + timeout_s
    while not writer.report():
        if writer.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"writer did not start: {writer.tail_log()}")
        time.sleep(0.05)


def _until_compacting(temporary: str, at_most_s: float) -> None:
    """Wait until a compaction's temporary file exists (the kill then lands inside it), for at most ``at_most_s``."""
    deadline = time.monotonic() + at_most_s
    while time.monotonic() < deadline and not os.path.exists(temporary):
        time.sleep(0.005)


def test_sigkill_during_compaction_loses_and_doubles_nothing(tmp_path, group, monkeypatch):
    server = start_server(str(tmp_path / "clickhouse"))
    url = server.url(database="compaction")
    state = str(tmp_path / "state")
    log_path = os.path.join(state, group, "commit.log")
    # 50-row batches (hundreds a second), compaction past 2 KiB (about every second), 0.4 s inside each compaction
    monkeypatch.setenv("TICKAGG_FAULT_COMPACTION_STALL_S", "0.4")
    extra = ["--max-batch-rows", "50", "--spill-fsync", "never", "--commit-log-compact-mb", "0.002"]
    rng = random.Random(13)
    kills = mid_compaction = 0
    try:
        create_ring(group)
        producer, results = start_producer(group, "rate", 8_000, 9.0)
        started = time.monotonic()
        stopped = restarted = False
        while time.monotonic() - started < 14.0 or kills < 6:
            elapsed = time.monotonic() - started
            if not stopped and elapsed > 1.0:
                server.stop()
                stopped = True
            if stopped and not restarted and elapsed > 6.0:
                server.start()
                restarted = True
            writer = WriterProcess(url, group, state, extra)
            _wait_started(writer)  # not wait_ready: during the outage the store never becomes ready
            _until_compacting(log_path + ".new", rng.uniform(0.8, 1.6))
            writer.kill()
            kills += 1
            mid_compaction += os.path.exists(log_path + ".new")
        if not restarted:
            server.start()
        produced = results.get(timeout=60)
        producer.join(10)
        monkeypatch.delenv("TICKAGG_FAULT_COMPACTION_STALL_S")
        writer = WriterProcess(url, group, state, extra)
        writer.wait_ready()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            report = writer.report()
            lag = sum(r["lag"] for r in report.get("rings", {}).values())
            if report.get("store_up") and not report.get("spill_batches") and not lag and not report.get("pending_rows"):
                break
            time.sleep(0.3)
        final = writer.stop()
        assert produced["dropped"] == 0 and produced["pushed"] > 50_000
        assert mid_compaction >= 2, (kills, mid_compaction)  # the kills did land inside compactions
        assert _stored(url) == (produced["pushed"], produced["pushed"]), (final, kills, mid_compaction)
        assert os.path.getsize(log_path) < 2 * 1024 + 64 * 2000  # compacted, not one record per batch
    finally:
        server.cleanup()
        remove_group(group)
