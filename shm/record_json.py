"""Records as JSON-ready dicts, with symbol and exchange ids resolved to names."""
from __future__ import annotations

import numpy as np

from shm.layouts import describe
from shm.records import EXCHANGE_NAMES, TICK, trade_id_text
from shm.symbols import SymbolDirectory, directory_name
from shm import segment

SIDE_NAMES = {1: "buy", -1: "sell", 0: "unknown"}


class RecordFormatter:
    """Turns records of one dtype into dicts; tick-like records get names.

    Tick records (shm/records.py TICK) print in the form of `tickagg parse`
    (exchange, symbol, price, size, side, ts_ns, trade_id as text) plus
    ``recv_ns``, ``flags`` and ``seq``. A UUID trade id prints as the UUID
    (lower case); other text that was not a number at the venue travels as a
    64-bit hash and prints as that number. Other records with a trade id
    (out.ticks) print it the same way.
    """

    def __init__(self, dtype: np.dtype, group: str):
        self.fields = list(dtype.names or ())
        self.symbols = SymbolDirectory(group) if segment.exists(directory_name(group)) else None
        self.is_tick = describe(dtype) == describe(TICK)

    def to_dict(self, record: np.void) -> dict:
        if self.is_tick:
            return self._tick(record)
        return self._generic(record)

    def _tick(self, record: np.void) -> dict:
        exchange = EXCHANGE_NAMES.get(int(record["exchange_id"]), str(int(record["exchange_id"])))
        symbol = None
        if self.symbols is not None:
            try:
                exchange, symbol = self.symbols.name_of(int(record["symbol_id"]))
            except KeyError:
                pass
        return {
            "exchange": exchange,
            "symbol": symbol if symbol is not None else f"#{int(record['symbol_id'])}",
            "price": float(record["price"]),
            "size": float(record["size"]),
            "side": SIDE_NAMES.get(int(record["side"]), str(int(record["side"]))),
            "ts_ns": int(record["ts_exchange_ns"]),
            "trade_id": trade_id_text(record["trade_id"], record["trade_id_lo"], record["flags"]),
            "recv_ns": int(record["ts_recv_ns"]),
            "flags": int(record["flags"]),
            "seq": int(record["seq"]),
        }

    def _generic(self, record: np.void) -> dict:
        row = {name: record[name].item() for name in self.fields if name not in ("reserved", "trade_id_lo")}
        if "trade_id_lo" in self.fields:
            row["trade_id"] = trade_id_text(row["trade_id"], record["trade_id_lo"], row["flags"])
        if "symbol_id" in row and self.symbols is not None:
            try:
                row["exchange"], row["symbol"] = self.symbols.name_of(row["symbol_id"])
            except KeyError:
                pass
        if "exchange_id" in row and "exchange" not in row:
            row["exchange"] = EXCHANGE_NAMES.get(row["exchange_id"], str(row["exchange_id"]))
        if "side" in row:
            row["side"] = SIDE_NAMES.get(row["side"], row["side"])
        return row
