"""`tickagg bench outage`: take the ClickHouse server away for S seconds at 80,000 ticks/s; count what was lost or doubled.

A private clickhouse-server (bench/clickhouse_server.py), the writer as
its own process, a producer at ``--rate`` ticks/s with unique sequence
numbers. After ``--warmup`` s the server is stopped (SIGTERM, or SIGKILL with
``--kill``), started again ``--seconds`` later on the same data directory, and
the producer runs ``--after`` s more. Once the writer has replayed its spill
and drained the ring, the store is asked::

  lost       = ticks pushed - distinct seq stored   (ring-full drops count as lost too)
  duplicated = rows stored - distinct seq stored

and the writer's RSS is sampled every 100 ms throughout.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

from tickagg.args import positive_float

HELP = "an S-second ClickHouse outage at 80k ticks/s: lost and duplicated ticks (must be 0) and the writer's RSS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="length of the outage (default 10)")
    parser.add_argument("--rate", type=positive_float, default=80_000, help="ticks/s (default 80000)")
    parser.add_argument("--warmup", type=positive_float, default=3.0, help="seconds of normal running before the outage (default 3)")
    parser.add_argument("--after", type=positive_float, default=5.0, help="seconds of load after the server is back (default 5)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the server instead of stopping it")
    parser.add_argument("--spill-fsync", choices=("always", "interval", "never"), default="always")


def outage(seconds: float, rate: float, warmup: float, after: float, kill: bool = False, spill_fsync: str = "always",
           workdir: str | None = None) -> dict:
    from store import open_store
    from bench.clickhouse_server import LocalServer
    from bench.writer_command import WriterProcess, create_ring, remove_group, start_producer

    own_workdir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="tickagg-bench-outage-")
    group = f"bo{os.getpid()}t{int(time.time() * 1000) % 100000}"
    server = LocalServer(os.path.join(workdir, "clickhouse")).start()
    url = server.url(database="outage")
    writer = None
    try:
        create_ring(group)
        writer = WriterProcess(url, group, os.path.join(workdir, "state"), ["--spill-fsync", spill_fsync])
        writer.wait_ready()
        producer, results = start_producer(group, "rate", rate, warmup + seconds + after)
        writer.watch(warmup)
        server.stop(kill=kill)
        stopped = time.monotonic()
        writer.watch(seconds)
        during = writer.report()
        server.start()
        back_after = time.monotonic() - stopped
        produced = None
        deadline = time.monotonic() + after + 120
        while time.monotonic() < deadline:
            writer.watch(0.5)
            if produced is None and not producer.is_alive():
                produced = results.get(timeout=30)
            report = writer.report()
            lag = sum(r["lag"] for r in report.get("rings", {}).values())
            if produced is not None and report.get("store_up") and not report.get("spill_batches") and not lag \
                    and not report.get("pending_rows"):
                break
        final = writer.stop()
        store = open_store(url)
        store.connect()
        rows, distinct = store.execute("SELECT count(), uniqExact(seq) FROM outage.ticks")[0]
        store.close()
        produced = produced or {"pushed": 0, "dropped": 0}
        attempted = produced["pushed"] + produced["dropped"]
        return {
            "lost": int(attempted - distinct),
            "duplicated": int(rows - distinct),
            "ticks_pushed": produced["pushed"],
            "ring_dropped": produced["dropped"],
            "rows_stored": int(rows),
            "outage_s": round(back_after, 2),
            "rate": rate,
            "rows_spilled": final.get("rows_spilled", 0),
            "spilled_during_outage": during.get("rows_spilled", 0),
            "rows_replayed": final.get("rows_replayed", 0),
            "in_doubt_resolved": final.get("in_doubt_resolved", 0),
            "writer_rss_mb_max": round(writer.rss_max["rss"], 1),
            "writer_rss_anon_mb_max": round(writer.rss_max["anon"], 1),
            "writer_rss_shmem_mb_max": round(writer.rss_max["shmem"], 1),
            "writer_rss_file_mb_max": round(writer.rss_max["file"], 1),
        }
    finally:
        if writer is not None:
            writer.kill()
        remove_group(group)
        server.stop()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    result = outage(args.seconds, args.rate, args.warmup, args.after, args.kill, args.spill_fsync)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.seconds:g} s ClickHouse outage at {args.rate:,.0f} ticks/s: lost {result['lost']}, "
          f"duplicated {result['duplicated']} ({result['rows_stored']:,} rows stored, {result['rows_spilled']:,} spilled "
          f"and replayed, {result['ring_dropped']} dropped at the ring)")
    print(f"writer RSS max {result['writer_rss_mb_max']} MB: anon {result['writer_rss_anon_mb_max']} MB, "
          f"ring pages {result['writer_rss_shmem_mb_max']} MB, libraries {result['writer_rss_file_mb_max']} MB")
    return 0
