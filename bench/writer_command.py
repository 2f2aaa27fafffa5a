"""`tickagg bench writer`: tick rows/s into each store, and tick-to-storage latency at 80,000 ticks/s.

Layout, as in production: a producer process pushes synthetic stamped ticks
into ``out.ticks`` of a private group; the writer runs as its own process
(``tickagg write``) and reports through its ``--report`` JSON file; the
ClickHouse server is a private one (bench/clickhouse_server.py) unless
``--clickhouse-url`` names another. The chDB store lives in a temporary
directory.

- rows/s: the producer keeps the ring at least half full, the writer drains it
  as fast as it can; the rate is the stored rows over the measured window
  (after a warm-up), from the writer's once-a-second timeline.
- tick-to-storage: the producer pushes 80 ticks every ms stamped with their
  receive time; the writer measures now - ts_recv_ns when the store
  acknowledges each batch (log-linear histogram); p99 over the run.
  ``--batch-ms`` sets the writer's batch age for that run (default: the
  store's, ClickHouse 50 ms, chDB 200 ms); the entry says which it ran with
  and the writer's CPU share meanwhile (/proc), so the trade shows: on the
  2-core VM, chDB at 200 ms p99 214-222 ms, at 25 ms 45-66 ms.
- RSS: sampled every 100 ms from /proc (total, and the anonymous part: the
  writer's own memory, without shared libraries and ring pages).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tickagg.args import name_list, positive_float, positive_int

HELP = "writer throughput (tick rows/s) into ClickHouse and chDB, and tick-to-storage p99 at 80k ticks/s"
SYMBOLS = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured window of the throughput run (default 8)")
    parser.add_argument("--latency-seconds", type=positive_float, default=8.0, help="length of the 80k ticks/s latency run (default 8)")
    parser.add_argument("--rate", type=positive_float, default=80_000, help="ticks/s of the latency run (default 80000)")
    parser.add_argument("--stores", type=_stores, default="clickhouse,chdb", help="comma-separated: clickhouse, chdb (default both)")
    parser.add_argument("--clickhouse-url", default=None, help="use this server instead of starting a private one")
    parser.add_argument("--batch-ms", type=positive_float, default=None,
                        help="the writer's batch age in the latency run (default: the store's, ClickHouse 50, chDB 200; "
                             "shorter: lower latency, more inserts and CPU)")
    parser.add_argument("--max-batch-rows", type=positive_int, default=100_000, help="writer --max-batch-rows (default 100000)")


# -- load ----------------------------------------------------------------------
def make_ticks(first_seq: int, count: int, now_ns: int):
    """``count`` synthetic stamped ticks with sequence numbers from ``first_seq`` (unique per run)."""
    import numpy as np

    from shm.pipeline_records import STAMPED_TICK

    ticks = np.zeros(count, STAMPED_TICK)
    seq = np.arange(first_seq, first_seq + count, dtype=np.uint64)
    ticks["seq"] = seq
    ticks["trade_id"] = seq
    ticks["symbol_id"] = seq % SYMBOLS
    ticks["exchange_id"] = 1 + seq % 10
    ticks["side"] = np.where(seq % 2, 1, -1)
    ticks["price"] = 100.0 + (seq % 1000) * 0.01
    ticks["size"] = 0.5
    ticks["ts_exchange_ns"] = now_ns - 1_000_000
    ticks["ts_recv_ns"] = now_ns
    ticks["ts_pop_ns"] = now_ns
    ticks["ts_signal_ns"] = now_ns
    return ticks


def produce(group: str, mode: str, rate: float, seconds: float, results, first_seq: int = 0) -> None:
    """Producer process: push ticks into ``out.ticks`` of ``group``; put {"pushed", "dropped"} on ``results``.

    mode "rate": ``rate`` ticks/s in 1 ms steps; "fill": keep the ring at least half full (throughput runs).
    """
    from shm.pipeline_records import STAMPED_TICK
    from shm.ring import PRODUCER, Ring, ring_name
    from shm.topology import OUTPUT_RINGS

    ring = Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, OUTPUT_RINGS["out.ticks"][1])
    seq, dropped = first_seq, 0
    start = time.monotonic()
    deadline = start + seconds
    if mode == "fill":
        chunk = 65536
        while time.monotonic() < deadline:
            if ring.head - ring.tail > ring.capacity // 2:
                time.sleep(0.002)
                continue
            ticks = make_ticks(seq, chunk, time.time_ns())
            done = ring.push_batch(ticks)
            seq += done
    else:
        step = 0.001
        due = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            target = int(rate * (now - start))
            count = target - (seq - first_seq) - dropped
            if count > 0:
                ticks = make_ticks(seq, count, time.time_ns())
                done = ring.push_batch(ticks)
                dropped += count - done
                seq += done
            due += step
            pause = start + due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    ring.close()
    results.put({"pushed": seq - first_seq, "dropped": dropped})


def start_producer(group: str, mode: str, rate: float, seconds: float, first_seq: int = 0):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    process = ctx.Process(target=produce, args=(group, mode, rate, seconds, results, first_seq), daemon=True)
    process.start()
    return process, results


def create_ring(group: str) -> None:
    from shm.pipeline_records import STAMPED_TICK
    from shm.ring import PRODUCER, Ring, ring_name
    from shm.topology import OUTPUT_RINGS

    Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, OUTPUT_RINGS["out.ticks"][1]).close()


def remove_group(group: str) -> None:
    from shm import segment
    from shm.ring import ring_name

    for name in segment.names(ring_name(group, "")):
        segment.remove(name)


def writer_batch_ms(url: str, env: dict[str, str]) -> float:
    """The batch age a writer started with ``env`` runs at (writer.batch_ms, e.g. TICKAGG__WRITER__BATCH_MS), or its
    store's default."""
    from store import open_store
    from tickagg import config

    given = config.load(None, env).defaults_for("write").get("batch_ms")
    return given if given is not None else open_store(url).batch_ms


# -- writer process --------------------------------------------------------------
class WriterProcess:
    """``tickagg write`` as a child process, its report file, and its RSS samples."""

    def __init__(self, store: str, group: str, state_dir: str, extra: list[str] = (), env: dict | None = None,
                 preexec_fn=None):
        self.report_path = os.path.join(state_dir, f"report-{group}.json")
        from store.url import for_child

        store, secret = for_child(store)  # the password goes by environment, never on the command line
        env = {**(os.environ if env is None else env), **secret} if secret else env
        command = [sys.executable, "-m", "tickagg.cli", "write", "--group", group, "--store", store,
                   "--state-dir", state_dir, "--report", self.report_path, "--ring", "out.ticks", *extra]
        self.log_path = os.path.join(state_dir, f"writer-{group}.log")
        os.makedirs(state_dir, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=env, preexec_fn=preexec_fn)
        self.rss_max = {"rss": 0, "anon": 0, "shmem": 0, "file": 0}

    def report(self) -> dict:
        """This process's last report; {} before its first (a report left by an earlier writer does not count)."""
        try:
            with open(self.report_path) as f:
                report = json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return report if report.get("pid") == self.process.pid else {}

    def sample_rss(self) -> None:
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "RssAnon", "RssFile", "RssShmem")))
        except (FileNotFoundError, ProcessLookupError):
            return
        for key, name in (("VmRSS", "rss"), ("RssAnon", "anon"), ("RssShmem", "shmem"), ("RssFile", "file")):
            if key in fields:
                self.rss_max[name] = max(self.rss_max[name], int(fields[key].split()[0]) / 1024)

    def wait_ready(self, timeout_s: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            report = self.report()
            if report.get("store_up"):
                return report
            if self.process.poll() is not None:
                raise RuntimeError(f"writer exited with {self.process.returncode}: {self.tail_log()}")
            self.sample_rss()
            time.sleep(0.1)
        raise RuntimeError(f"writer not ready after {timeout_s} s: {self.tail_log()}")

    def watch(self, seconds: float, every_s: float = 0.1) -> None:
        """Sample RSS for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sample_rss()
            time.sleep(every_s)

    def stop(self, timeout_s: float = 120.0) -> dict:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.report()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def tail_log(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except FileNotFoundError:
            return ""


def rate_between(timeline: list, t0: float, t1: float) -> float:
    """Stored ticks/s between wall times t0 and t1 from the writer's (time, cumulative rows) timeline.

    Uses the samples inside the window, or the nearest ones around it when the window is shorter than two samples.
    """
    inside = [(t, n) for t, n in timeline if t0 <= t <= t1]
    if len(inside) < 2:
        before = [(t, n) for t, n in timeline if t <= t0] or timeline[:1]
        after = [(t, n) for t, n in timeline if t >= t1] or timeline[-1:]
        inside = before[-1:] + after[:1]
    if len(inside) < 2:
        return 0.0
    (ta, na), (tb, nb) = inside[0], inside[-1]
    return (nb - na) / (tb - ta) if tb > ta else 0.0


# -- runs ----------------------------------------------------------------------
def throughput(store: str, seconds: float, workdir: str, max_batch_rows: int, warmup_s: float = 2.0) -> dict:
    group = f"bw{os.getpid()}t{int(time.time() * 1000) % 100000}"
    create_ring(group)
    writer = WriterProcess(store, group, os.path.join(workdir, group), ["--max-batch-rows", str(max_batch_rows)])
    try:
        writer.wait_ready()
        producer, results = start_producer(group, "fill", 0, warmup_s + seconds + 0.5)
        t0 = time.time() + warmup_s
        writer.watch(warmup_s + seconds + 0.5)
        t1 = time.time() - 0.5
        produced = results.get(timeout=60)
        producer.join(10)
        report = writer.stop()
    finally:
        writer.kill()
        remove_group(group)
    return {"rows_per_s": round(rate_between(report.get("timeline", []), t0, t1)),
            "rows_stored": report.get("rows_stored", {}).get("ticks", 0), "produced": produced["pushed"],
            "writer_rss_mb_max": round(writer.rss_max["rss"], 1), "writer_rss_anon_mb_max": round(writer.rss_max["anon"], 1)}


def latency(store: str, rate: float, seconds: float, workdir: str, batch_ms: float | None = None) -> dict:
    """Tick-to-storage at ``rate`` ticks/s for ``seconds``; ``batch_ms``: the writer's batch age (None: the store's)."""
    from bench.proc_times import cpu_seconds

    group = f"bl{os.getpid()}t{int(time.time() * 1000) % 100000}"
    create_ring(group)
    writer = WriterProcess(store, group, os.path.join(workdir, group), ["--batch-ms", str(batch_ms)] if batch_ms else [])
    try:
        writer.wait_ready()
        producer, results = start_producer(group, "rate", rate, seconds)
        cpu0, t0 = cpu_seconds(writer.process.pid), time.monotonic()
        writer.watch(seconds)
        cpu_pct = 100.0 * (cpu_seconds(writer.process.pid) - cpu0) / (time.monotonic() - t0)
        produced = results.get(timeout=60)
        producer.join(10)
        time.sleep(0.3)
        report = writer.stop()
    finally:
        writer.kill()
        remove_group(group)
    lat = report.get("tick_to_store_ns", {})
    return {"rate": rate, "batch_ms": batch_ms or writer_batch_ms(store, dict(os.environ)), "writer_cpu_pct": round(cpu_pct, 1),
            "produced": produced["pushed"], "ring_dropped": produced["dropped"],
            "rows_stored": report.get("rows_stored", {}).get("ticks", 0),
            "p50_ms": round(lat.get("p50", 0) / 1e6, 2), "p99_ms": round(lat.get("p99", 0) / 1e6, 2),
            "max_ms": round(lat.get("max", 0) / 1e6, 2),
            "writer_rss_mb_max": round(writer.rss_max["rss"], 1), "writer_rss_anon_mb_max": round(writer.rss_max["anon"], 1)}


def _stores(text: str) -> list[str]:
    """``--stores``: a comma-separated subset of clickhouse, chdb."""
    stores = name_list(text)
    unknown = [s for s in stores if s not in ("clickhouse", "chdb")]
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} is not a store: use clickhouse, chdb or both")
    return stores


def run(args: argparse.Namespace) -> int:
    from bench.clickhouse_server import LocalServer

    stores = _stores(args.stores) if isinstance(args.stores, str) else args.stores
    workdir = tempfile.mkdtemp(prefix="tickagg-bench-writer-")
    server = None
    result: dict = {"stores": {}}
    try:
        for kind in stores:
            if kind == "clickhouse":
                if args.clickhouse_url:
                    base = args.clickhouse_url.rsplit("/", 1)[0]
                else:
                    server = server or LocalServer().start()
                    base = server.url(database="").rsplit("/", 1)[0]
                url_tp, url_lat = f"{base}/bench_tp{os.getpid()}", f"{base}/bench_lat{os.getpid()}"
            elif kind == "chdb":
                url_tp = url_lat = f"chdb://{os.path.join(workdir, 'chdb')}"
            else:
                print(f"unknown store {kind!r}", file=sys.stderr)
                return 2
            entry = throughput(url_tp, args.seconds, workdir, args.max_batch_rows)
            entry["latency"] = latency(url_lat, args.rate, args.latency_seconds, workdir, args.batch_ms)
            result["stores"][kind] = entry
        result["tick_to_storage_p99_ms"] = max(e["latency"]["p99_ms"] for e in result["stores"].values())
        result["latency_rate"] = args.rate
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return 0
    for kind, entry in result["stores"].items():
        lat = entry["latency"]
        print(f"{kind:>10}: {entry['rows_per_s']:>12,} tick rows/s   writer RSS max {entry['writer_rss_mb_max']} MB "
              f"(anon {entry['writer_rss_anon_mb_max']} MB)")
        print(f"{'':>10}  tick-to-storage at {lat['rate']:,.0f}/s, {lat['batch_ms']:g} ms batches: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
              f"max {lat['max_ms']} ms ({lat['rows_stored']:,} of {lat['produced']:,} stored, {lat['ring_dropped']} dropped), "
              f"writer {lat['writer_cpu_pct']}% of a core")
    print(f"tick-to-storage p99 (worst store): {result['tick_to_storage_p99_ms']} ms")
    return 0
