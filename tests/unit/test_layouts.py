"""Record layouts and their versions (shm/layouts.py) and the one ring list (shm/topology.py)."""
from __future__ import annotations

import numpy as np

from shm.layouts import (LAYOUTS, STAMPED_TICK_80, TICK_RESERVED, current_layout, fingerprint, readable, same_bytes,
                         upgrade)
from shm.pipeline_records import STAMPED_TICK
from shm.records import TICK
from shm.topology import EVENT_RING, OUTPUT_RINGS, event_ring
from store.tables import table_of_ring


def test_every_stored_ring_goes_to_a_table_of_its_records():
    for name, spec in {**OUTPUT_RINGS, event_ring("binance"): EVENT_RING}.items():
        table = table_of_ring(name)
        assert (table is None) == (spec.table is None), name
        assert table is None or (table.name, table.dtype) == (spec.table, spec.dtype), name


def test_every_ring_record_has_a_layout_entry():
    currents = {fingerprint(layout.current) for layout in LAYOUTS.values()}
    assert {fingerprint(spec.dtype) for spec in OUTPUT_RINGS.values()} | {fingerprint(TICK)} <= currents


def test_an_alias_is_read_as_the_current_dtype():
    stored = fingerprint(TICK_RESERVED)
    assert same_bytes(stored, TICK) and current_layout(stored) is TICK and readable(TICK, stored) == TICK
    assert not same_bytes(fingerprint(TICK), TICK_RESERVED) and current_layout(fingerprint(TICK)) is None


def test_an_earlier_layout_is_upgraded_and_an_unknown_one_refused():
    assert not same_bytes(fingerprint(STAMPED_TICK_80), STAMPED_TICK)
    assert readable(STAMPED_TICK, fingerprint(STAMPED_TICK_80)) == STAMPED_TICK_80
    assert readable(STAMPED_TICK, fingerprint(np.dtype([("seq", "<u8")]))) is None
    old = np.zeros(3, STAMPED_TICK_80)
    old["seq"], old["source_pos"] = [1, 2, 3], 7
    new = upgrade(old, STAMPED_TICK)
    assert new.dtype == STAMPED_TICK and list(new["seq"]) == [1, 2, 3] and (new["source_pos"] == 7).all()
    assert (new["trade_id_lo"] == 0).all() and upgrade(new, STAMPED_TICK) is new
