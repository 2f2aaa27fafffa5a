"""Tick flags (a bit set, u1 ``flags`` in tick and out.ticks records; shm/records.py re-exports them).

A module of its own without NumPy, so a process that only names a flag (a venue parser imported by
`tickagg run` for the venue list) does not pay for NumPy (~10 MB PSS).
"""
from __future__ import annotations

FLAG_GAP = 1  # trade ids/sequence skipped before this tick
FLAG_SNAPSHOT = 2  # replayed by the venue on subscribe, not a live trade
FLAG_REPLAY = 4  # filled in after a reconnect, deduplicated by trade id
FLAG_TRADE_UUID = 8  # the trade id is a UUID, kept exactly in trade_id and trade_id_lo
