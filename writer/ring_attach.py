"""The writer's rings: attach to the group's rings as they appear (``rescan``), with a batcher each, and let go of
drained rings of an earlier record layout so their producer can replace them (a mixin of writer.Writer)."""
from __future__ import annotations

import logging

from shm.layouts import fingerprint, readable
from shm.ring import CONSUMER, MONITOR, PREFIX, Ring, RingBusyError, RingError, RingOtherLayoutError, group_rings
from store import Store
from store.tables import table_of_ring
from writer.batcher import RingBatcher

log = logging.getLogger("tickagg.writer")


class RingAttach:
    def rescan(self) -> None:
        """Attach to rings of the group that appeared since the last look (and let go of drained old ones)."""
        self._release_drained_earlier()
        prefix = f"{PREFIX}{self.config.group}."
        for name in group_rings(self.config.group):
            short = name[len(prefix) :]
            table = table_of_ring(short)
            if table is None or name in self.batchers or (self.config.rings is not None and short not in self.config.rings):
                continue
            if self._still_released(name):
                continue
            try:
                ring = self._open_ring(name, table)
            except RingBusyError as exc:
                raise RingBusyError(f"{exc} — is another `tickagg write --group {self.config.group}` running?") from None
            except RingError as exc:
                if self._unreadable.get(name) != str(exc):  # once per reason, not once per rescan
                    self._unreadable[name] = str(exc)
                    log.warning("cannot read ring %s: %s", name, exc)
                continue
            batcher = RingBatcher(ring, table, self._capacity(ring), self._quiet_age(table))
            self.batchers[name] = batcher
            if not batcher.summary:
                self._ticks = batcher
            self._recover(batcher)
            log.info("reading %s -> %s (batches up to %d rows)", name, table.name, batcher.capacity)

    def _release_drained_earlier(self) -> None:
        """Give up the consumer role on rings of an earlier layout once every row in them is durable, so the
        current producer can replace them (shm/ring.py); they are not read again unless rows appear in them."""
        for name, batcher in list(self.batchers.items()):
            ring = batcher.ring
            if ring.dtype == batcher.table.dtype or batcher.count or batcher.frozen is not None or ring.head != ring.tail:
                continue
            self._released[name] = ring.created_ns
            ring.close()
            del self.batchers[name]
            if batcher is self._ticks:
                self._ticks = None
            log.info("%s (earlier layout) is drained; released for its producer to replace", name)

    def _still_released(self, name: str) -> bool:
        """Whether ``name`` is the drained earlier-layout ring let go before, still without new rows."""
        if name not in self._released:
            return False
        try:
            with Ring(name, MONITOR, numba=False) as ring:
                if ring.created_ns == self._released[name] and ring.head == ring.tail:
                    return True
        except RingError:
            pass
        del self._released[name]
        return False

    @staticmethod
    def _open_ring(name: str, table) -> Ring:
        """The ring as a consumer; one an earlier release wrote in an earlier layout of the table's records is read
        as it is and its batches upgraded (so an upgrade with rows still in flight loses none)."""
        try:
            return Ring(name, CONSUMER, table.dtype, numba=False)
        except RingOtherLayoutError:
            ring = Ring(name, CONSUMER, None, numba=False)
            if readable(table.dtype, fingerprint(ring.dtype)) is None:
                ring.close()
                raise
            log.warning("%s holds %s records of an earlier layout; reading them as they are", name, table.name)
            return ring

    def _quiet_age(self, table) -> float:
        """The batch age (s) of a quiet ring of ``table``: ``quiet_batch_ms`` for ticks, ``quiet_summary_ms`` (at least
        that) for the others; 0 when quiet batches are off."""
        quiet = self.config.quiet_batch_ms
        if not quiet or table.name == "ticks":
            return quiet / 1000
        return max(quiet, self.config.quiet_summary_ms) / 1000

    def _capacity(self, ring: Ring) -> int:
        """A batch's most rows: ``max_batch_rows``, the ring's size, a quarter of the memory budget (or the row
        trigger if more), and ``max_batch_mb`` of records: one insert holds the loop up for that long only (a minute
        close's 2,378 feature rows, 26 MB, went as one insert of 0.3-0.4 s that every tick batch waited behind; in
        4 MB slices the tick batches go between them)."""
        itemsize = ring.dtype.itemsize
        share = int(self.config.memory_budget_mb * (1 << 20) / 4 / itemsize)  # a quarter of the budget per busy ring
        by_bytes = int(self.config.max_batch_mb * (1 << 20) / itemsize)
        return max(1, min(self.config.max_batch_rows, by_bytes, ring.capacity, max(self.config.batch_rows or Store.batch_rows, share)))

