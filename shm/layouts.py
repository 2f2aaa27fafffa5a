"""Record layouts and their versions: the one place that knows which layouts this release reads.

Every ring header and every spill record carries the ``fingerprint`` of the
layout its records were written in. For each record kind, ``LAYOUTS`` holds
the current dtype and the earlier layouts of it this release still reads:

- an *alias* is the same bytes under other field names: a ring of it is used
  as it is, and its records are read as the current dtype;
- an *earlier* layout is other bytes: its records are upgraded (``upgrade``:
  same-named fields copied, new fields 0).

A layout neither current nor listed here is refused (a ring of it is replaced
once drained, shm/ring_attach.py; a spill of it is not opened, writer/spill.py).

TICK_RESERVED, an alias of TICK (shm/records.py, 64 bytes): the tick before
its last word was named ``trade_id_lo`` (always 0 then)::

  32              40              48     52  54 55 56             64
  +---------------+---------------+-------+---+-+-+---------------+
  | trade_id      | seq           |sym_id |exc|s|f| reserved      |   (bytes 0..32 as TICK)
  +---------------+---------------+-------+---+-+-+---------------+

STAMPED_TICK_80, earlier than STAMPED_TICK (shm/pipeline_records.py): the
stamped tick of schema 1, before ``trade_id_lo`` (80 bytes; the current one
adds ``trade_id_lo`` at 80..88, the fields before it at the same offsets)::

  0               8               16              24              32
  +---------------+---------------+---------------+---------------+
  | ts_exchange_ns| ts_recv_ns    | ts_pop_ns     | ts_signal_ns  |
  +---------------+---------------+---------------+---------------+
  | price         | size          | trade_id      | seq           |
  +-------+---+-+-+---------------+---------------+---------------+
  |sym_id |exc|s|f| source_pos    |
  +-------+---+-+-+---------------+
  64     68  70 71 72             80
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from shm.pipeline_records import BAR, EVENT, FEATURE_ROW, LATENCY, REGIME, SIGNAL, STAMPED_TICK
from shm.record_forms import text_fingerprint
from shm.records import TICK


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


def dtype_from_description(text: str) -> np.dtype:
    """Rebuild a record dtype from ``describe`` text (a monitor reads a ring of a layout it was not given)."""
    size_text, *fields = text.split(" ")
    names, formats, offsets = [], [], []
    for field in fields:
        name, rest = field.split(":", 1)
        form, offset = rest.rsplit("@", 1)
        names.append(name)
        formats.append(form)
        offsets.append(int(offset))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": int(size_text[:-1])})


def fingerprint(dtype: np.dtype) -> int:
    """Signed 64-bit fingerprint of ``describe(dtype)``: equal layouts, equal fingerprints."""
    return text_fingerprint(describe(dtype))


TICK_RESERVED = np.dtype([(n if n != "trade_id_lo" else "reserved", TICK.fields[n][0]) for n in TICK.names])
STAMPED_TICK_80 = np.dtype([(n, STAMPED_TICK.fields[n][0]) for n in STAMPED_TICK.names if n != "trade_id_lo"])
assert STAMPED_TICK_80.itemsize == 80


@dataclasses.dataclass(frozen=True)
class Layout:
    """One record kind: its current dtype and the layouts of it that earlier releases wrote and this one reads."""

    current: np.dtype
    earlier: tuple[np.dtype, ...] = ()  # other bytes: records upgraded
    aliases: tuple[np.dtype, ...] = ()  # the same bytes under other names: read as ``current``

    @property
    def fingerprint(self) -> int:
        return fingerprint(self.current)


LAYOUTS = {
    "tick": Layout(TICK, aliases=(TICK_RESERVED,)),
    "stamped_tick": Layout(STAMPED_TICK, earlier=(STAMPED_TICK_80,)),
    "bar": Layout(BAR),
    "feature_row": Layout(FEATURE_ROW),
    "regime": Layout(REGIME),
    "signal": Layout(SIGNAL),
    "latency": Layout(LATENCY),
    "event": Layout(EVENT),
}
_BY_FINGERPRINT = {layout.fingerprint: layout for layout in LAYOUTS.values()}
_ALIASES = {fingerprint(alias): layout.current for layout in LAYOUTS.values() for alias in layout.aliases}


def layout_of(dtype: np.dtype) -> Layout:
    """The record kind whose current dtype is ``dtype`` (any other dtype: a kind of its own, with no history)."""
    return _BY_FINGERPRINT.get(fingerprint(dtype)) or Layout(np.dtype(dtype))


def current_layout(stored: int) -> np.dtype | None:
    """The current dtype of which layout fingerprint ``stored`` is an alias (None: not an alias)."""
    return _ALIASES.get(stored)


def same_bytes(stored: int, dtype: np.dtype) -> bool:
    """Whether records of layout fingerprint ``stored`` can be read as ``dtype`` as they are: the same, or an alias."""
    layout = layout_of(dtype)
    return stored == layout.fingerprint or any(fingerprint(alias) == stored for alias in layout.aliases)


def readable(dtype: np.dtype, stored: int) -> np.dtype | None:
    """The layout to read records of fingerprint ``stored`` in, to get ``dtype`` records: ``dtype`` itself (also for
    an alias) or an earlier layout, which ``upgrade`` then turns into ``dtype`` (None: this release cannot read it)."""
    if same_bytes(stored, dtype):
        return np.dtype(dtype)
    return next((d for d in layout_of(dtype).earlier if fingerprint(d) == stored), None)


def upgrade(records: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Records of an earlier layout as ``dtype`` records: same-named fields copied, new fields 0 (``dtype``: as they are)."""
    if records.dtype == dtype:
        return records
    upgraded = np.zeros(len(records), dtype)
    for name in records.dtype.names:
        upgraded[name] = records[name]
    return upgraded


class DtypeForm(NamedTuple):
    """A dtype as the record form shm/ring_attach.py checks rings against (as shm/record_forms.py ``RecordForm``)."""

    dtype: np.dtype

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def description(self) -> str:
        return describe(self.dtype)

    @property
    def fingerprint(self) -> int:
        return fingerprint(self.dtype)

    def same_bytes(self, stored: int) -> bool:
        return same_bytes(stored, self.dtype)


def stored_form(stored: int, description: str) -> DtypeForm:
    """The form of a ring's own records, from its header's fingerprint and description: the current dtype if the
    fingerprint is an alias, else the described one (ValueError, TypeError or IndexError if unreadable)."""
    return DtypeForm(current_layout(stored) or dtype_from_description(description))
