"""Fault injection with real processes: the ClickHouse server stopped mid-stream, the writer SIGKILLed
mid-batch and restarted, a full disk under the spill. Exact row counts and no duplicates, by query."""
from __future__ import annotations

import os
import random
import resource
import time

import pytest
from stores import need_chdb, start_server

from store import open_store
from bench.outage_command import outage
from bench.writer_command import WriterProcess, create_ring, make_ticks, remove_group, start_producer
from shm.pipeline_records import STAMPED_TICK
from shm.ring import PRODUCER, Ring, ring_name

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def _ticks_in(url: str, table: str = "ticks") -> tuple[int, int]:
    store = open_store(url)
    store.connect()
    try:
        rows, distinct = store.execute(f"SELECT count(), uniqExact(seq) FROM {store.database}.{table}")[0]
        return int(rows), int(distinct)
    finally:
        store.close()


def _wait_drained(writer: WriterProcess, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        report = writer.report()
        lag = sum(r["lag"] for r in report.get("rings", {}).values())
        if report.get("store_up") and not report.get("spill_batches") and not lag and not report.get("pending_rows"):
            return report
        time.sleep(0.2)
    raise AssertionError(f"writer did not drain: {writer.report()} {writer.tail_log()}")


def test_server_stopped_mid_stream_loses_and_doubles_nothing(tmp_path):
    result = outage(seconds=2.0, rate=20_000, warmup=1.5, after=1.5, workdir=str(tmp_path))
    assert result["lost"] == 0 and result["duplicated"] == 0, result
    assert result["spilled_during_outage"] > 0 and result["rows_replayed"] == result["rows_spilled"], result
    assert result["rows_stored"] == result["ticks_pushed"] > 60_000


@pytest.mark.parametrize("kind", ["clickhouse", "chdb"])
def test_writer_sigkilled_mid_batch_and_restarted(kind, clickhouse_server, tmp_path, group):
    if kind == "chdb":
        need_chdb()
    url = clickhouse_server.url(database=f"kill_{group}") if kind == "clickhouse" else f"chdb://{tmp_path / 'chdb'}"
    create_ring(group)
    state = str(tmp_path / "state")
    extra = ["--batch-rows", "5000", "--max-batch-rows", "20000"]
    producer, results = start_producer(group, "rate", 40_000, 5.0)
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 5.0
    while kills < 3 or time.monotonic() < deadline:  # a loaded machine starts writers slowly: still three kills
        writer = WriterProcess(url, group, state, extra)
        writer.wait_ready()
        time.sleep(rng.uniform(0.3, 0.8))
        writer.kill()  # SIGKILL wherever it is: usually inside an insert or between insert and commit
        kills += 1
    produced = results.get(timeout=60)
    producer.join(10)
    writer = WriterProcess(url, group, state, extra)
    writer.wait_ready()
    _wait_drained(writer)
    writer.stop()
    assert kills >= 3 and produced["dropped"] == 0
    assert _ticks_in(url) == (produced["pushed"], produced["pushed"])


def test_full_disk_for_the_spill_acknowledges_nothing_undurable(tmp_path, group):
    """RLIMIT_FSIZE (no mount or loop device needed, works as root in CI) stands in for a full disk."""
    server = start_server(str(tmp_path / "clickhouse"))
    url = server.url(database="full")
    server.stop()
    try:
        ring = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 18)
        limit = 2_000_000  # bytes per file: ~24,000 ticks of spill

        def limit_files():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        writer = WriterProcess(url, group, str(tmp_path / "state"), ["--spill-fsync", "always"], preexec_fn=limit_files)
        pushed = 0
        for _ in range(10):
            pushed += ring.push_batch(make_ticks(pushed, 10_000, time.time_ns()))
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while "no room left" not in writer.tail_log(50) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "no room left" in writer.tail_log(50), writer.tail_log()
        time.sleep(1.0)
        spill_dir = tmp_path / "state" / group / "spill"
        spilled_bytes = sum(os.path.getsize(spill_dir / n) for n in os.listdir(spill_dir))
        assert spilled_bytes <= limit
        report = writer.report()
        # what left the ring (tail) is exactly what the spill holds: nothing acknowledged that is not durable
        assert ring.tail == report["rows_spilled"] == report["spill_rows"] and ring.head - ring.tail == pushed - ring.tail > 0
        server.start()
        _wait_drained(writer)
        writer.stop()
        assert _ticks_in(url) == (pushed, pushed) == (100_000, 100_000)
    finally:
        server.cleanup()
        remove_group(group)
