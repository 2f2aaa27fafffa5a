"""What the store holds after an e2e run: lost and doubled trades per venue, and latencies from the send.

The simulator writes its send time as each trade's exchange time (at the
venue's finest unit: ms for most, µs for Bitstamp, Coinbase and Kraken, ns
for Gemini; a time cut to ms is up to 1 ms early, so those latencies are
over-stated, never under-stated), so on the stored ticks:

- tick-to-signal = ts_signal_ns - ts_exchange_ns, exact per tick (quantilesExact);
- tick-to-storage: no stamp per tick says when the store acknowledged it. The writer
  measures ts_recv_ns -> store acknowledgement per venue and second (latency stage 4,
  shm/pipeline_records.py); its p99 over the window is estimated from those rows (each
  row's quantiles as a piecewise-linear distribution, weighted by its count; the rows are
  keyed by the second of the acknowledgement: those acknowledged in the window), and
  the exact p99 of exchange -> receive from the ticks is added to it. A sum of p99s
  is at least the p99 of the sum for these latencies in practice: an upper estimate.
"""
from __future__ import annotations

from shm.pipeline_records import STAGE_TICK_TO_STORE
from shm.records import EXCHANGE_NAMES, FLAG_SNAPSHOT


def _ns(store, table: str, column: str) -> str:
    """``column`` as Int64 ns (an Int64 column on old servers, DateTime64(9) on new ones)."""
    rows = store.execute(f"SELECT type FROM system.columns WHERE database = '{store.database}' "
                         f"AND table = '{table}' AND name = '{column}'")
    return f"toUnixTimestamp64Nano({column})" if rows and rows[0][0].startswith("DateTime64") else column


def accounting(store, sent: dict[str, int]) -> dict:
    """Live trades sent per venue vs stored: {"lost", "duplicated", "per_venue": {venue: (sent, rows, distinct)}}."""
    rows = store.execute(f"SELECT exchange_id, count(), uniqExact(symbol_id, trade_id, trade_uuid) "
                         f"FROM {store.database}.ticks WHERE bitAnd(flags, {FLAG_SNAPSHOT}) = 0 GROUP BY exchange_id")
    stored = {EXCHANGE_NAMES.get(int(eid), str(eid)): (int(count), int(distinct)) for eid, count, distinct in rows}
    lost = duplicated = 0
    per_venue = {}
    for venue in sorted(set(sent) | set(stored)):
        count, distinct = stored.get(venue, (0, 0))
        lost += max(sent.get(venue, 0) - distinct, 0)
        duplicated += count - distinct
        per_venue[venue] = (sent.get(venue, 0), count, distinct)
    return {"lost": lost, "duplicated": duplicated, "per_venue": per_venue}


def stored_in(store, start_ns: int, end_ns: int) -> int:
    """Live ticks stored whose exchange (= send) time is in [start, end)."""
    ts = _ns(store, "ticks", "ts_exchange_ns")
    return int(store.execute(f"SELECT count() FROM {store.database}.ticks WHERE bitAnd(flags, {FLAG_SNAPSHOT}) = 0 "
                             f"AND {ts} >= {start_ns} AND {ts} < {end_ns}")[0][0])


def tick_latencies(store, start_ns: int, end_ns: int) -> dict[str, float]:
    """ms quantiles over ticks sent in [start, end): send -> signal (p50, p99), and the p99 of each stage on the
    way: send -> feed receive, receive -> the aggregator's pop (ring and nap), pop -> signal published."""
    ex, recv, pop, sig = (_ns(store, "ticks", c) for c in ("ts_exchange_ns", "ts_recv_ns", "ts_pop_ns", "ts_signal_ns"))
    row = store.execute(
        f"SELECT quantilesExact(0.5, 0.99)({sig} - {ex}), quantileExact(0.99)({recv} - {ex}), "
        f"quantileExact(0.99)({pop} - {recv}), quantileExact(0.99)({sig} - {pop}), count() "
        f"FROM {store.database}.ticks WHERE bitAnd(flags, {FLAG_SNAPSHOT}) = 0 AND {ex} >= {start_ns} AND {ex} < {end_ns}")[0]
    if not row[4]:
        return dict.fromkeys(("signal_p50", "signal_p99", "recv_p99", "pop_p99", "publish_p99"), float("nan"))
    return {"signal_p50": row[0][0] / 1e6, "signal_p99": row[0][1] / 1e6, "recv_p99": row[1] / 1e6,
            "pop_p99": row[2] / 1e6, "publish_p99": row[3] / 1e6}


def store_latency_seconds(store, start_ns: int, end_ns: int) -> dict:
    """Receive -> store acknowledgement p99 per second of the window (the worst venue's; latency stage 4), in ms:
    their median, the worst, how many seconds were over 50 ms, and the three worst (seconds from the start)."""
    second = _ns(store, "latency", "second_ns")
    rows = store.execute(f"SELECT {second}, max(p99) FROM {store.database}.latency WHERE stage = {STAGE_TICK_TO_STORE} "
                         f"AND count > 0 AND {second} >= {start_ns} AND {second} < {end_ns} GROUP BY {second} ORDER BY {second}")
    p99s = sorted(((float(p99) / 1e6, round((int(ns) - start_ns) / 1e9, 1)) for ns, p99 in rows), reverse=True)
    if not p99s:
        return {"seconds": 0}
    return {"seconds": len(p99s), "median": round(p99s[len(p99s) // 2][0], 1), "max": round(p99s[0][0], 1),
            "seconds_over_50ms": sum(1 for p99, _ in p99s if p99 > 50),
            "worst": [(at, round(p99, 1)) for p99, at in p99s[:3]]}


def mixture_quantile(rows: list[tuple[int, float, float, float, float, float]], q: float) -> float:
    """The q-quantile of the union of distributions given as (count, p50, p90, p99, p999, max)."""
    rows = [row for row in rows if row[0] > 0]
    if not rows:
        return float("nan")
    levels = (0.0, 0.5, 0.9, 0.99, 0.999, 1.0)

    def below(x: float) -> float:
        total = 0.0
        for count, *values in rows:
            points = [0.0, *values]
            if x >= points[-1]:
                total += count
                continue
            for i in range(1, len(points)):
                if x < points[i]:
                    low, high = points[i - 1], points[i]
                    share = (x - low) / (high - low) if high > low else 1.0
                    total += count * (levels[i - 1] + share * (levels[i] - levels[i - 1]))
                    break
        return total

    want = q * sum(row[0] for row in rows)
    low, high = 0.0, max(row[5] for row in rows)
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if below(middle) < want else (low, middle)
    return high


def store_latency_p99_ms(store, start_ns: int, end_ns: int) -> tuple[float, bool]:
    """Estimated p99 (ms) of receive -> store acknowledgement for ticks acknowledged in the window (latency
    stage 4, keyed by the second of the acknowledgement), and whether it had to take every later second
    too (a short window whose ticks were all acknowledged after it ended)."""
    second = _ns(store, "latency", "second_ns")
    query = (f"SELECT count, p50, p90, p99, p999, max FROM {store.database}.latency "
             f"WHERE stage = {STAGE_TICK_TO_STORE} AND {second} >= {start_ns}")
    rows = [tuple(row) for row in store.execute(f"{query} AND {second} < {end_ns}")]
    widened = not any(row[0] for row in rows)
    if widened:
        rows = [tuple(row) for row in store.execute(query)]
    return mixture_quantile(rows, 0.99) / 1e6, widened
