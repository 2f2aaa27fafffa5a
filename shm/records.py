"""Fixed-size record dtypes that cross process boundaries, and their fingerprint.

The tick record (64 bytes, one cache line)::

  0               8               16              24              32
  +---------------+---------------+---------------+---------------+
  | ts_exchange_ns| ts_recv_ns    | price (f8)    | size (f8)     |
  +---------------+---------------+-------+---+-+-+---------------+
  | trade_id (u8) | seq (u8)      |sym_id |exc|s|f| reserved (u8) |
  +---------------+---------------+-------+---+-+-+---------------+
  32              40              48     52  54 55 56             64

- ``ts_exchange_ns`` / ``ts_recv_ns``: venue trade time and local receive time,
  ns since the epoch (``time.time_ns()`` clock).
- ``trade_id``: the venue's id when it is an integer, else a stable 64-bit hash.
- ``seq``: the feed's own per-ring counter, +1 per tick (gap-free by design).
- ``symbol_id``: index in the symbol directory (shm/symbols.py).
- ``exchange_id``: see ``EXCHANGE_IDS``.
- ``side``: +1 taker buy, -1 taker sell, 0 unknown. ``flags``: feeds/trade.py.
"""
from __future__ import annotations

import hashlib

import numpy as np

TICK = np.dtype(
    [
        ("ts_exchange_ns", "<i8"),
        ("ts_recv_ns", "<i8"),
        ("price", "<f8"),
        ("size", "<f8"),
        ("trade_id", "<u8"),
        ("seq", "<u8"),
        ("symbol_id", "<u4"),
        ("exchange_id", "<u2"),
        ("side", "i1"),
        ("flags", "u1"),
        ("reserved", "<u8"),
    ]
)
assert TICK.itemsize == 64

# Stable small integers for the venues; never renumber (ids are stored).
EXCHANGE_IDS = {
    "binance": 1,
    "okx": 2,
    "coinbase": 3,
    "kraken": 4,
    "bybit": 5,
    "bitfinex": 6,
    "bitstamp": 7,
    "gemini": 8,
    "deribit": 9,
    "bitmex": 10,
}
EXCHANGE_NAMES = {number: name for name, number in EXCHANGE_IDS.items()}


def describe(dtype: np.dtype) -> str:
    """A canonical text of a dtype's layout: field names, types and offsets."""
    dtype = np.dtype(dtype)
    if dtype.names is None:
        return f"{dtype.str}"
    fields = []
    for name in dtype.names:
        field_type, offset = dtype.fields[name][:2]
        if field_type.subdtype is not None:  # e.g. (1400,)<f8
            base, shape = field_type.subdtype
            form = "(" + ",".join(str(n) for n in shape) + ",)" + base.str
        else:
            form = field_type.str
        fields.append(f"{name}:{form}@{offset}")
    return f"{dtype.itemsize}B " + " ".join(fields)


def fingerprint(dtype: np.dtype) -> int:
    """Signed 64-bit fingerprint of ``describe(dtype)``: equal layouts, equal fingerprints."""
    digest = hashlib.blake2b(describe(dtype).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
