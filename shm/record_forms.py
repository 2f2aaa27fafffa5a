"""The records a feed writes (TICK, EVENT) as plain Python: sizes, field offsets, ``struct`` formats, fingerprints.

A feed process must never import NumPy (issue 12: ~9 MB of PSS per process,
ten feeds), yet it creates and checks its rings exactly as a NumPy process does,
and a ring header names its layout by ``fingerprint(describe(dtype))``
(shm/layouts.py). So the two layouts a feed writes are spelled out here field by
field, in the order and types of their dtypes (shm/records.py TICK,
shm/pipeline_records.py EVENT), and the description text, the fingerprint and
the ``struct`` format are derived from that one list; tests/unit/test_record_forms.py
holds them equal to the dtypes', so the two can never drift.

The fields are packed (no padding): each at the end of the one before, which
is what both dtypes are (``struct`` ``<`` is packed too).
"""
from __future__ import annotations

import hashlib
import struct
from typing import NamedTuple

# a dtype field's type text (numpy's ``dtype.str``) -> its struct code and its size in bytes
_STRUCT_CODES = {"<i8": "q", "<u8": "Q", "<f8": "d", "<i4": "i", "<u4": "I", "<u2": "H", "|i1": "b", "|u1": "B"}


def text_fingerprint(description: str) -> int:
    """Signed 64-bit fingerprint of a layout's description (shm/layouts.py ``fingerprint`` of a dtype)."""
    return int.from_bytes(hashlib.blake2b(description.encode(), digest_size=8).digest(), "little", signed=True)


def _code(field_type: str) -> str:
    if field_type.startswith("|S"):  # fixed-size bytes, NUL padded
        return field_type[2:] + "s"
    return _STRUCT_CODES[field_type]


class RecordForm(NamedTuple):
    """One record layout without NumPy: its fields as ``(name, dtype.str)`` in order, packed."""

    fields: tuple[tuple[str, str], ...]
    aliases: tuple[str, ...] = ()  # descriptions of the same bytes under other names (shm/layouts.py)

    @property
    def struct(self) -> struct.Struct:
        return struct.Struct("<" + "".join(_code(field_type) for _, field_type in self.fields))

    @property
    def itemsize(self) -> int:
        return self.struct.size

    @property
    def offsets(self) -> dict[str, int]:
        """Each field's byte offset in the record."""
        offsets, at = {}, 0
        for name, field_type in self.fields:
            offsets[name] = at
            at += struct.calcsize("<" + _code(field_type))
        return offsets

    @property
    def description(self) -> str:
        """shm/layouts.py ``describe`` of the dtype: the text a ring header carries."""
        offsets = self.offsets
        return f"{self.itemsize}B " + " ".join(f"{name}:{kind}@{offsets[name]}" for name, kind in self.fields)

    @property
    def fingerprint(self) -> int:
        return text_fingerprint(self.description)

    def same_bytes(self, stored: int) -> bool:
        """Whether a ring of layout fingerprint ``stored`` holds these records (this layout or an alias of it)."""
        return stored == self.fingerprint or any(text_fingerprint(alias) == stored for alias in self.aliases)


TICK_FORM = RecordForm(
    (("ts_exchange_ns", "<i8"), ("ts_recv_ns", "<i8"), ("price", "<f8"), ("size", "<f8"), ("trade_id", "<u8"),
     ("seq", "<u8"), ("symbol_id", "<u4"), ("exchange_id", "<u2"), ("side", "|i1"), ("flags", "|u1"),
     ("trade_id_lo", "<u8")),
    aliases=("64B ts_exchange_ns:<i8@0 ts_recv_ns:<i8@8 price:<f8@16 size:<f8@24 trade_id:<u8@32 seq:<u8@40 "
             "symbol_id:<u4@48 exchange_id:<u2@52 side:|i1@54 flags:|u1@55 reserved:<u8@56",),  # TICK_RESERVED
)
EVENT_FORM = RecordForm(
    (("ts_ns", "<i8"), ("exchange_id", "<u2"), ("kind", "<u2"), ("symbol_id", "<u4"), ("value", "<i8"),
     ("detail", "|S104")),
)
TICK_STRUCT = TICK_FORM.struct  # "<qqddQQIHbBQ", 64 bytes
EVENT_STRUCT = EVENT_FORM.struct  # "<qHHIq104s", 128 bytes
EVENT_DETAIL_BYTES = 104
