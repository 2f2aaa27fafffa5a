"""`tickagg summary`: what a group stored, told for a newcomer (the end of `make demo`).

Totals per table; per venue and symbol the ticks, minute bars, feature rows and regime rows; latency per stage
(the median over the stored seconds of each second's p50 and p99, and the worst second's p99); and one feature
read by their catalogue names, with the SQL that did it. Symbols are named by the store's ``symbols`` table (the
writer's stable ids); a store without names yet falls back to the group's symbol directory while it exists
(/dev/shm), else to ids. Every query also runs on ClickHouse 18.16.
"""
from __future__ import annotations

import argparse
import sys

from shm.names import group_argument
from tickagg.args import positive_int

HELP = "summarise what the store holds: rows per table, per venue and symbol, latency per stage, a feature by name"
EXAMPLE_FEATURES = ("obv", "ema_5", "rsi_14")
DEFINED_SQL = "SELECT max(arrayCount(x -> x = x, values)) FROM {db}.features"  # NaN = NaN is false
TABLES = ("ticks", "bars_1s", "bars_1m", "features", "regime", "latency", "events")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, help="store URL (default: TICKAGG_STORE, CLICKHOUSE_URL, else chdb://./data)")
    parser.add_argument("--group", type=group_argument, default="default",
                        help="the group whose symbol directory names the symbol ids (default: default)")
    parser.add_argument("--symbols", type=positive_int, default=50, help="symbols listed, busiest first (default 50)")


def symbol_names(group: str) -> dict[int, str]:
    """id -> ``exchange:symbol`` from the group's directory, or {} when it is gone."""
    from shm import segment
    from shm.symbols import SymbolDirectory, directory_name

    if not segment.exists(directory_name(group)):
        return {}
    directory = SymbolDirectory(group)
    try:
        return dict(directory.items())
    finally:
        directory.close()


def stored_symbol_names(store, db: str) -> dict[int, str]:
    """id -> ``exchange:symbol`` from the store's ``symbols`` (writer/symbol_ids.py), or {} on a store without it."""
    from store.schema import quote

    if not int(store.execute(f"SELECT count() FROM system.tables WHERE database = '{quote(db)}' AND name = 'symbols'")[0][0]):
        return {}
    return {int(i): f"{e}:{s}" for i, e, s in store.execute(f"SELECT symbol_id, exchange, symbol FROM {db}.symbols")}


def per_symbol_sql(db: str, limit: int) -> str:
    """Ticks, minute bars, feature rows and regime rows per symbol, busiest first (one UNION ALL: 18.16 has no JOIN USING many)."""
    tables = ("ticks", "bars_1m", "features", "regime")
    parts = []
    for table in tables:
        columns = ", ".join(f"toUInt64({'count()' if t == table else '0'}) AS {t}" for t in tables)
        parts.append(f"SELECT symbol_id, {columns} FROM {db}.{table} GROUP BY symbol_id")
    return (f"SELECT symbol_id, {', '.join(f'sum({t}) AS {t}' for t in tables)} FROM ({' UNION ALL '.join(parts)}) "
            f"GROUP BY symbol_id ORDER BY ticks DESC, symbol_id LIMIT {int(limit)}")


LATENCY_SQL = ("SELECT stage, sum(count) AS n, quantileExact(0.5)(p50) AS median_p50, quantileExact(0.5)(p99) AS median_p99, "
               "max(p99) AS worst_p99 FROM {db}.latency WHERE count > 0 GROUP BY stage ORDER BY stage")


CATALOGUE_SQL = ("SELECT name, index FROM {db}.feature_catalogue WHERE version = "
                 "(SELECT max(version) FROM {db}.feature_catalogue) AND name IN ({names})")


def feature_sql(db: str, indexes: dict[str, int]) -> str:
    """The latest value of some features per symbol, by name; arrays count from 1 in SQL."""
    values = ", ".join(f"argMax(values[{i + 1}], start_ns) AS {name}" for name, i in indexes.items())
    return (f"SELECT symbol_id, max(start_ns) AS minute, {values} "
            f"FROM {db}.features GROUP BY symbol_id ORDER BY symbol_id LIMIT 5")


def run(args: argparse.Namespace) -> int:
    from shm.pipeline_records import STAGE_NAMES
    from store import StoreError, configured, open_store, redact
    from store.url import StoreURLError
    from store.query_command import format_table

    try:
        url = configured(args.store)
    except StoreURLError as exc:
        print(f"tickagg summary: {exc}", file=sys.stderr)
        return 2
    names = symbol_names(args.group)
    store = open_store(url)
    try:
        store.connect()
        db = store.database
        names = stored_symbol_names(store, db) or names
        totals = [(t, store.query(f"SELECT count() FROM {db}.{t}")[1][0][0]) for t in TABLES]
        _, per_symbol = store.query(per_symbol_sql(db, args.symbols))
        _, latency = store.query(LATENCY_SQL.format(db=db))
        named = ", ".join(f"'{name}'" for name in EXAMPLE_FEATURES)
        indexes = dict(store.query(CATALOGUE_SQL.format(db=db, names=named))[1])
        indexes = {name: int(indexes[name]) for name in EXAMPLE_FEATURES if name in indexes}
        catalogue_size = store.query(f"SELECT count() FROM {db}.feature_catalogue WHERE version = "
                                     f"(SELECT max(version) FROM {db}.feature_catalogue)")[1][0][0]
        example = feature_sql(db, indexes)
        _, example_rows = store.query(example)
        defined = store.query(DEFINED_SQL.format(db=db))[1][0][0] if dict(totals)["features"] else 0
    except StoreError as exc:
        print(f"tickagg summary: {redact(str(exc), url.password)}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print("Stored rows\n" + format_table(["table", "rows"], totals))
    print(f"\nPer symbol, busiest {args.symbols} (bars_1m: closed minutes; features: {catalogue_size} values "
          "per symbol per minute bar; regime: one row per minute bar)")
    print(format_table(["symbol", "ticks", "bars_1m", "features", "regime"],
                       [(names.get(int(r[0]), f"id {int(r[0])}"), *r[1:]) for r in per_symbol]))
    print("\nLatency per stage, ms (medians over the stored seconds and venues of each second's p50 and p99; "
          "worst: the worst second's p99)")
    print(format_table(["stage", "ticks", "p50", "p99", "worst_p99"],
                       [(STAGE_NAMES[int(r[0])] if int(r[0]) < len(STAGE_NAMES) else f"stage {r[0]}",
                         int(r[1]), *(round(float(v) / 1e6, 3) for v in r[2:])) for r in latency]))
    where = ", ".join(f"{name} is value {i + 1}" for name, i in indexes.items())
    print(f"\nFeatures by name ({where} of features.values; the store's feature_catalogue names all "
          f"{catalogue_size}):\n  {example}")
    print(format_table(["symbol", "minute", *indexes],
                       [(names.get(int(r[0]), f"id {int(r[0])}"), *r[1:]) for r in example_rows]))
    print(f"{defined} of {catalogue_size} features have a value in the fullest row: a feature over n bars "
          "is NaN (None) until n minute bars are stored")
    stored = dict(totals)
    if not (stored["ticks"] and stored["bars_1m"] and stored["features"]):
        print("\ntickagg summary: no minute bars or feature rows yet: the first bars close at the end of the "
              "first whole minute after the feeds start", file=sys.stderr)
        return 1
    return 0
