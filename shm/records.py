"""The tick record (feed -> aggregator), its flags, trade id words and venue ids.

The tick record (64 bytes, one cache line)::

  0               8               16              24              32
  +---------------+---------------+---------------+---------------+
  | ts_exchange_ns| ts_recv_ns    | price (f8)    | size (f8)     |
  +---------------+---------------+-------+---+-+-+---------------+
  | trade_id (u8) | seq (u8)      |sym_id |exc|s|f| trade_id_lo   |
  +---------------+---------------+-------+---+-+-+---------------+
  32              40              48     52  54 55 56             64

- ``ts_exchange_ns`` / ``ts_recv_ns``: venue trade time and local receive time,
  ns since the epoch (``time.time_ns()`` clock).
- ``trade_id``: the venue's id when it is an integer; any other text travels
  as a stable 64-bit hash, except a UUID (BitMEX, Bybit derivatives), which is
  kept exactly: FLAG_TRADE_UUID set, ``trade_id_lo`` = its last 64 bits and
  ``trade_id`` = its first 64 bits XOR ``mix64(trade_id_lo)`` — a well-spread
  64-bit key (UUIDs of one venue often share their first half) from which the
  UUID comes back (``uuid_int``). ``trade_id_lo`` is 0 otherwise.
- ``seq``: the feed's own per-ring counter, +1 per tick (gap-free by design).
- ``symbol_id``: index in the symbol directory (shm/symbols.py).
- ``exchange_id``: see ``EXCHANGE_IDS``.
- ``side``: +1 taker buy, -1 taker sell, 0 unknown. ``flags``: FLAG_* (shm/flags.py, re-exported here).

Fingerprints and earlier layouts of this and every other record: shm/layouts.py.
"""
from __future__ import annotations

# tick flags (a bit set, u1; also in out.ticks records), re-exported: defined in shm/flags.py, without NumPy
from shm.flags import FLAG_GAP, FLAG_REPLAY, FLAG_SNAPSHOT, FLAG_TRADE_UUID  # noqa: F401


def _tick_dtype():
    import numpy as np

    return np.dtype([
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
        ("trade_id_lo", "<u8"),
    ])


def __getattr__(name: str):
    """``TICK`` (a numpy dtype) is built when first asked for: a feed uses this module without NumPy (issue 12;
    its record form, equal to TICK: shm/record_forms.py ``TICK_FORM``)."""
    if name == "TICK":
        tick = globals()["TICK"] = _tick_dtype()
        assert tick.itemsize == 64
        return tick
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_U64_MAX = (1 << 64) - 1
_MIX = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)  # splitmix64's finaliser: a bijection on 64-bit words


def mix64(word: int) -> int:
    word = ((word ^ (word >> 30)) * _MIX[0]) & _U64_MAX
    word = ((word ^ (word >> 27)) * _MIX[1]) & _U64_MAX
    return word ^ (word >> 31)


def mix64_array(words):
    """``mix64`` of each element of a uint64 array (numpy wraps the products like the masks above)."""
    import numpy as np

    words = words.astype(np.uint64)
    words = (words ^ (words >> np.uint64(30))) * np.uint64(_MIX[0])
    words = (words ^ (words >> np.uint64(27))) * np.uint64(_MIX[1])
    return words ^ (words >> np.uint64(31))


def uuid_words(value: int) -> tuple[int, int]:
    """A UUID (as a 128-bit int) as a tick's (trade_id, trade_id_lo)."""
    low = value & _U64_MAX
    return (value >> 64) ^ mix64(low), low


def uuid_int(trade_id: int, trade_id_lo: int) -> int:
    """The UUID (128-bit int) of a tick with FLAG_TRADE_UUID."""
    return ((int(trade_id) ^ mix64(int(trade_id_lo))) << 64) | int(trade_id_lo)


def trade_id_text(trade_id: int, trade_id_lo: int, flags: int) -> str:
    """A tick's trade id as text: the number, or the UUID (lower case) when FLAG_TRADE_UUID is set."""
    if flags & FLAG_TRADE_UUID:
        text = f"{uuid_int(trade_id, trade_id_lo):032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return str(int(trade_id))


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

