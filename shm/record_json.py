"""Records as JSON-ready dicts, with symbol and exchange ids resolved to names."""
from __future__ import annotations

import numpy as np

from shm.records import EXCHANGE_NAMES
from shm.symbols import SymbolDirectory, directory_name
from shm import segment

SIDE_NAMES = {1: "buy", -1: "sell", 0: "unknown"}


class RecordFormatter:
    """Turns records of one dtype into dicts; tick-like records get names."""

    def __init__(self, dtype: np.dtype, group: str):
        self.fields = list(dtype.names or ())
        self.symbols = SymbolDirectory(group) if segment.exists(directory_name(group)) else None

    def to_dict(self, record: np.void) -> dict:
        row = {name: record[name].item() for name in self.fields if name != "reserved"}
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
