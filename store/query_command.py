"""`tickagg query "SQL"`: run one query against the configured store, print a table or JSON."""
from __future__ import annotations

import argparse
import sys

HELP = "run one SQL query against the configured store (ClickHouse or chDB) and print the result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help="the query, e.g. \"SELECT count() FROM tickagg.ticks\"")
    parser.add_argument("--store", default=None, help="store URL (default: TICKAGG_STORE, CLICKHOUSE_URL, else chdb://./data)")
    parser.add_argument("--json", action="store_true", help="print JSON: {\"columns\": [...], \"rows\": [[...], ...]}")


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """Rows as an aligned text table with a header line."""
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(columns))]

    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells)
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def _text(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run(args: argparse.Namespace) -> int:
    from store import StoreError, configured, open_store, redact
    from store.url import StoreURLError

    try:
        url = configured(args.store)
    except StoreURLError as exc:
        print(f"tickagg query: {exc}", file=sys.stderr)
        return 2
    store = open_store(url)
    try:
        store.connect()
        columns, rows = store.query(args.sql)
    except StoreError as exc:
        print(f"tickagg query: {redact(str(exc), url.password)}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if args.json:
        import orjson

        print(orjson.dumps({"columns": columns, "rows": [list(r) for r in rows]}, default=str,
                           option=orjson.OPT_SERIALIZE_NUMPY).decode())
    else:
        print(format_table(columns, rows))
    return 0
