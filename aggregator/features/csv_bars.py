"""Read a CSV of 1-minute bars for ``tickagg features``, refusing bad input with its line and column.

Columns: ts, open, high, low, close, volume (required); buy_volume,
sell_volume, vwap, count, symbol (optional). Unknown or repeated columns are
errors (a misspelt "vwpa" must not be silently ignored). A missing optional
column, or an empty cell in one, takes the default below:
- buy_volume, sell_volume: 0, so the imbalance features are NaN (unknown sides);
- vwap: the bar's close (the window VWAP becomes a volume-weighted close);
- count: 1 (trades are unknown; the bar is not an empty interval);
- symbol: every row is one symbol; with it, each symbol has its own state.
ts is kept as text and written back unchanged; rows must be in time order
per symbol (not checked: ts may be any format).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from typing import TextIO

import numpy as np

REQUIRED = ("ts", "open", "high", "low", "close", "volume")
OPTIONAL = ("buy_volume", "sell_volume", "vwap", "count", "symbol")
NUMERIC = ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "vwap", "count")


class BarsError(ValueError):
    """Bad bars input; the message names the line and column."""


@dataclass
class Bars:
    ts: list[str]
    symbols: list[str] | None  # None when the input has no symbol column
    slots: np.ndarray  # int64 per row: the symbol's state slot
    columns: dict[str, np.ndarray]  # NUMERIC name -> float64 per row


def read_bars(stream: TextIO, source: str = "input") -> Bars:
    """Parse and validate every row; raise BarsError naming ``source``, line and column."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        raise BarsError(f"{source}: empty file, expected a header line with {', '.join(REQUIRED)}")
    header = [name.strip() for name in header]
    _check_header(header, source)
    position = {name: k for k, name in enumerate(header)}
    ts: list[str] = []
    symbols: list[str] = []
    values: dict[str, list[float]] = {name: [] for name in NUMERIC}
    for line_no, fields in enumerate(reader, start=2):
        if not fields:
            continue  # blank line
        if len(fields) != len(header):
            raise BarsError(f"{source} line {line_no}: {len(fields)} fields, the header has {len(header)}")
        row = {name: fields[k].strip() for name, k in position.items()}
        ts.append(row["ts"])
        symbols.append(row.get("symbol", ""))
        bar = _parse_row(row, source, line_no)
        for name in NUMERIC:
            values[name].append(bar[name])
    slot_of: dict[str, int] = {}
    slots = np.array([slot_of.setdefault(s, len(slot_of)) for s in symbols], dtype=np.int64)
    return Bars(
        ts=ts,
        symbols=symbols if "symbol" in position else None,
        slots=slots,
        columns={name: np.array(column, dtype=np.float64) for name, column in values.items()},
    )


def _check_header(header: list[str], source: str) -> None:
    known = REQUIRED + OPTIONAL
    for name in header:
        if name not in known:
            raise BarsError(f"{source} line 1: unknown column {name!r} (known: {', '.join(known)})")
        if header.count(name) > 1:
            raise BarsError(f"{source} line 1: column {name!r} appears {header.count(name)} times")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise BarsError(f"{source} line 1: missing column(s) {', '.join(missing)}")


def _parse_row(row: dict[str, str], source: str, line_no: int) -> dict[str, float]:
    def number(name: str, default: float) -> float:
        text = row.get(name, "")
        if text == "":
            if name in REQUIRED:
                raise BarsError(f"{source} line {line_no}, column {name!r}: empty")
            return default
        try:
            value = float(text)
        except ValueError:
            raise BarsError(f"{source} line {line_no}, column {name!r}: not a number: {text!r}") from None
        if not math.isfinite(value):
            raise BarsError(f"{source} line {line_no}, column {name!r}: not finite: {text!r}")
        return value

    def fail(name: str, why: str) -> BarsError:
        return BarsError(f"{source} line {line_no}, column {name!r}: {why} ({row.get(name)!r})")

    bar = {name: number(name, 0.0) for name in ("open", "high", "low", "close", "volume")}
    for name in ("open", "high", "low", "close"):
        if bar[name] <= 0.0:
            raise fail(name, "price must be > 0")
    if bar["high"] < max(bar["open"], bar["close"], bar["low"]):
        raise fail("high", "high is below open, close or low")
    if bar["low"] > min(bar["open"], bar["close"]):
        raise fail("low", "low is above open or close")
    bar["buy_volume"] = number("buy_volume", 0.0)
    bar["sell_volume"] = number("sell_volume", 0.0)
    bar["vwap"] = number("vwap", bar["close"])
    bar["count"] = number("count", 1.0)
    for name in ("volume", "buy_volume", "sell_volume", "count"):
        if bar[name] < 0.0:
            raise fail(name, "must be >= 0")
    if bar["vwap"] <= 0.0:
        raise fail("vwap", "must be > 0")
    if bar["count"] != int(bar["count"]):
        raise fail("count", "must be a whole number")
    return bar
