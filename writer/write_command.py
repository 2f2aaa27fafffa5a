"""`tickagg write`: drain a group's output rings into the store (ClickHouse server or embedded chDB)."""
from __future__ import annotations

import argparse
import os
import sys

from shm.names import group_argument
from tickagg import config
from tickagg.args import log_level, non_negative_float, non_negative_int, positive_float, positive_int

HELP = "the writer process: aggregator output and feed event rings -> ClickHouse or chDB (default ./data), spilling while the store is down"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", type=group_argument, default=os.environ.get("TICKAGG_GROUP", "default"), help="process group (default: default)")
    parser.add_argument("--store", default=None,
                        help="clickhouse://user@host:9000/db, clickhouses://user@host:9440/db?ca=/path/ca.pem (TLS) or chdb:///path "
                             "(default: TICKAGG_STORE, CLICKHOUSE_URL, else chdb://./data); the password from "
                             "TICKAGG_STORE_PASSWORD or CLICKHOUSE_PASSWORD, never on the command line")
    parser.add_argument("--state-dir", default=os.environ.get("TICKAGG_STATE_DIR", "./data/writer"),
                        help="commit log and spill files, per group (default ./data/writer)")
    parser.add_argument("--batch-rows", type=positive_int, default=None,
                        help="flush a ring's batch at this many rows (default 1000; chDB: none, by --batch-ms only)")
    parser.add_argument("--batch-ms", type=positive_float, default=None,
                        help="... or when its first record is this old (default 50; chDB: 200)")
    parser.add_argument("--quiet-batch-ms", type=non_negative_float, default=None,
                        help="... or this old on a quiet ring (under 50 rows in the last second: an idle group makes a "
                             "few inserts a second, a tick after a silence waits up to this long; default 1000, chDB "
                             "5000; 0: --batch-ms)")
    parser.add_argument("--quiet-summary-ms", type=non_negative_float, default=None,
                        help="... and on a quiet ring other than out.ticks (bars, features, regime, latency, events; at "
                             "least --quiet-batch-ms, off with it; default 2000, chDB 10000)")
    parser.add_argument("--max-batch-rows", type=positive_int, default=100_000,
                        help="largest insert when the writer has fallen behind (default 100000)")
    parser.add_argument("--max-batch-mb", type=positive_float, default=4.0,
                        help="... and at most this many MB of records, so one insert (a minute close's feature rows) "
                             "does not hold the tick batches up for long (default 4)")
    parser.add_argument("--memory-mb", type=positive_float, default=200.0, help="budget for batches held in memory (default 200)")
    parser.add_argument("--spill-fsync", choices=config.SPILL_FSYNC, default="always",
                        help="fsync the spill after every batch (default), every second, or never")
    parser.add_argument("--spill-max-mb", type=non_negative_float, default=10240.0,
                        help="cap on the spill's size on disk (default 10240 = 10 GiB; 0: only the disk bounds it)")
    parser.add_argument("--spill-full", choices=config.SPILL_FULL, default="drop-oldest",
                        help="at the cap, drop the oldest spilled batches (default) or the newest; dropped rows are counted")
    parser.add_argument("--commit-log-compact-mb", type=positive_float, default=16.0, help=argparse.SUPPRESS)  # tests: compact often
    parser.add_argument("--retention-days", type=non_negative_int, default=0, help="TTL for ticks where the server has TTL (0: keep)")
    parser.add_argument("--seconds", type=positive_float, default=None, help="stop after this long (default: until SIGTERM)")
    parser.add_argument("--ring", action="append", default=None, help="read only this ring (short name; repeatable)")
    parser.add_argument("--report", default=None,
                        help="also write the JSON status here (every second and at exit, it is always written to "
                             "<state-dir>/<group>/status.json, which `tickagg status` reads)")
    parser.add_argument("--replay-dead-letters", action="store_true",
                        help="insert the batches the store refused before (after fixing the cause; the writer must not be "
                             "running), keep those it refuses again, and exit")
    parser.add_argument("--verbose", "-v", action="store_true", help="log at INFO level (default: warnings)")
    parser.add_argument("--log-level", type=log_level, default=None, help="logging level (default WARNING; INFO with -v)")
    config.add_argument(parser)


def run(args: argparse.Namespace) -> int:
    import logging

    # clickhouse-driver builds its Date lookup table for 1900-2299 at import (~30 MB); lazily, as dates come (none do)
    os.environ.setdefault("CLICKHOUSE_DRIVER_LASY_DATE_LUT", "1")  # sic: the driver's documented spelling
    from store import StoreError, configured, redact
    from store.url import StoreURLError

    logging.basicConfig(level=args.log_level or ("INFO" if args.verbose else "WARNING"),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        url = configured(args.store)
    except StoreURLError as exc:
        print(f"tickagg write: {exc}", file=sys.stderr)
        return 2
    if args.store and _url_password(args.store):
        logging.getLogger("tickagg.write").warning(
            "the --store URL carries a password, which every local user can read in /proc/%d/cmdline: "
            "give it in TICKAGG_STORE_PASSWORD instead", os.getpid())
    from store.tables import table_of_ring
    from tickagg.args import UsageError

    unknown = [ring for ring in args.ring or () if table_of_ring(ring) is None]
    if unknown:
        raise UsageError(f"--ring: {unknown[0]!r} is not a ring the writer stores (e.g. out.ticks, out.bars1s)")
    from writer.spill import SpillLayoutError
    from writer.writer import Writer, WriterConfig, install_signal_handlers
    from shm.ring import RingError
    from shm.segment import EXIT_REFUSED, SegmentRefusedError

    config = WriterConfig(
        group=args.group, state_dir=args.state_dir, batch_rows=args.batch_rows, batch_ms=args.batch_ms,
        quiet_batch_ms=args.quiet_batch_ms, quiet_summary_ms=args.quiet_summary_ms,
        max_batch_rows=args.max_batch_rows, max_batch_mb=args.max_batch_mb, memory_budget_mb=args.memory_mb,
        spill_fsync=args.spill_fsync, spill_max_mb=args.spill_max_mb, spill_full=args.spill_full,
        commitlog_compact_mb=args.commit_log_compact_mb,
        retention_days=args.retention_days, report_path=args.report, rings=tuple(args.ring) if args.ring else None,
    )
    from writer.deadletter import DeadLetterError
    from writer.symbol_ids import SymbolConflict

    if args.replay_dead_letters:
        return replay_dead_letters(url, config)
    try:
        writer = Writer(url, config)
        install_signal_handlers(writer)
        writer.start()
        writer.run(args.seconds)
    except SymbolConflict as exc:
        print(f"tickagg write: symbol id conflict: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (StoreError, RingError, SpillLayoutError, DeadLetterError, OSError) as exc:
        print(f"tickagg write: {redact(str(exc), url.password)}", file=sys.stderr)
        return EXIT_REFUSED if isinstance(exc, SegmentRefusedError) else 1
    if args.seconds is not None and not writer.store_ever_up:
        print(f"tickagg write: the store {url} never answered in {args.seconds:g} s ({writer.store_error}); nothing was "
              f"stored, {writer.spill.rows} rows are in the spill", file=sys.stderr)
        return 1
    return 0


def replay_dead_letters(url, config) -> int:
    """`tickagg write --replay-dead-letters`: 0 when every dead letter is now stored, 1 otherwise."""
    from store import StoreError, open_store, redact
    from writer.deadletter import DeadLetterError, DeadLetters, replay
    from writer.catalogue import feature_catalogue

    try:
        dead_letters = DeadLetters(os.path.join(config.state_dir, config.group, "deadletter"), exclusive=True)
    except DeadLetterError as exc:
        print(f"tickagg write: {exc}", file=sys.stderr)
        return 1
    store = open_store(url)
    try:
        if not len(dead_letters):
            print(f"no dead letters in {dead_letters.directory}")
            return 0
        store.connect()
        catalogue = feature_catalogue(config.feature_names, config.catalogue_version)
        store.setup(catalogue.names, catalogue.version, config.retention_days)
        result = replay(dead_letters, store)
    except StoreError as exc:
        print(f"tickagg write: {redact(str(exc), url.password)}", file=sys.stderr)
        return 1
    finally:
        dead_letters.close()
        store.close()
    print(f"{result.replayed_batches} dead-letter batches ({result.replayed_rows} rows) stored; "
          f"{result.refused} refused again, {result.left} not tried (kept in {dead_letters.directory})")
    return 0 if not (result.refused or result.left) else 1


def _url_password(text: str) -> str:
    """The password written in a store URL's text ("" if none)."""
    from urllib.parse import unquote, urlsplit

    try:
        return unquote(urlsplit(text.strip()).password or "")
    except ValueError:
        return ""
