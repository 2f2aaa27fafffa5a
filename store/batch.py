"""A batch: records [start, end) of one ring incarnation, bound for one table, with a deterministic id.

The id is a hash of (ring name, ring creation time, start, end): a writer that
restarts and pops the same records again forms the same batch, so the store
(``insert_deduplication_token`` or a ``batch_id`` query) and the commit log
recognise it. Positions count records since the ring was created
(shm/header.py), so they never repeat within one incarnation.
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from store.tables import Table


def ring_key(ring_name: str) -> int:
    """A stable 64-bit key of a ring's full shared-memory name."""
    return int.from_bytes(hashlib.blake2b(ring_name.encode(), digest_size=8).digest(), "little")


def batch_id(ring_name: str, incarnation: int, start: int, end: int) -> int:
    text = f"{ring_name}:{incarnation}:{start}:{end}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


@dataclasses.dataclass
class Batch:
    ring_name: str
    incarnation: int  # ring header's creation time (ns): a recreated ring restarts its positions
    start: int
    end: int
    table: Table
    records: np.ndarray
    in_doubt: bool = False  # an insert may have reached the store without its answer reaching us
    from_spill: bool = False
    store_ids: bool = True  # symbol ids are the store's (writer/symbol_ids.py); False: fresh from a ring, run ids

    @property
    def id(self) -> int:
        return batch_id(self.ring_name, self.incarnation, self.start, self.end)

    @property
    def token(self) -> str:
        """The store's dedup token / query id for this batch."""
        return f"tickagg-{self.id:016x}"

    @property
    def rows(self) -> int:
        return self.end - self.start

    @property
    def nbytes(self) -> int:
        return int(self.records.nbytes)

    def __repr__(self) -> str:
        return f"Batch({self.table.name} {self.ring_name}[{self.start}:{self.end}] {self.token})"
