"""The store-down half of the writer: spill, probe, replay, restart recovery, dead letters.

``SpillAndReplay`` is mixed into ``Writer`` (writer/writer.py), whose state it shares: the commit log, the spill,
the dead letters, the store and its up/down flags. What it does:

- ``_recover``: on attaching a ring, apply the commit log's last word about it (and the spill's): records past the
  tail already stored, spilled or quarantined are skipped; an INTENT without ACK is re-formed as the same batch,
  in doubt;
- ``_store_down`` / ``_report_down`` / ``_probe``: mark the store down (backoff ``retry_min_s`` doubling to
  ``retry_max_s``), say so at once and every ``down_report_s``, reconnect;
- ``_replay_one``: once the store is back, the oldest spilled batch, in doubt (INTENT, insert, ACK, release);
- ``_quarantine``: a batch the store refused for its content goes to the dead letters, then QUARANTINED;
- ``_compact`` / ``_log_dropped``: commit log compaction, the spill cap's drops in the log.
"""
from __future__ import annotations

import enum
import logging
import time

from store.batch import Batch
from store.url import redact
from writer.batcher import RingBatcher
from writer.commitlog import ACK, FROM_SPILL, INTENT, QUARANTINED, SPILLED, CommitLogError
from writer.deadletter import DeadLetterError

log = logging.getLogger("tickagg.writer")


class Outcome(enum.Enum):
    """What became of a batch sent to the store."""

    STORED = "stored"
    QUARANTINED = "quarantined"  # refused for its content: in the dead letters
    FAILED = "failed"  # the store did not take it (down, or refusing us): in doubt, retried


class SpillAndReplay:
    """The spill / replay / recovery methods of ``Writer`` (writer/writer.py)."""

    def _recover(self, batcher: RingBatcher) -> None:
        """Apply the commit log's (and the spill's) last word about this ring (after a restart)."""
        spilled_end = self._spilled_end.pop((batcher.name, batcher.incarnation), 0)
        if spilled_end > batcher.start:  # spilled, but the writer died before logging it or committing the tail
            self.stats["recovered_skipped_rows"] += batcher.skip(spilled_end)
        last = self._last.pop(batcher.key, None)
        if last is None or int(last["incarnation"]) != batcher.incarnation or int(last["end"]) <= batcher.start:
            return
        start, end, kind = int(last["start"]), int(last["end"]), int(last["kind"])
        if kind in (ACK, SPILLED, QUARANTINED):
            skipped = batcher.skip(end)
            self.stats["recovered_skipped_rows"] += skipped
            log.info("%s: %d records past the tail were already %s before the restart", batcher.name, skipped,
                     {ACK: "stored", SPILLED: "spilled", QUARANTINED: "quarantined"}[kind])
        elif kind == INTENT:
            batch = batcher.reload(start, end)
            if batch is None:
                log.warning("%s: in-doubt batch [%d, %d) cannot be re-read from the ring (tail %d)", batcher.name, start, end, batcher.start)
            else:
                log.info("%s: %r was being inserted when the writer stopped; resolving it first", batcher.name, batch)

    def _quarantine(self, batch: Batch, key: int, flags: int, reason: str) -> None:
        """Keep a batch the store refused for its content in the dead letters, durably, then log QUARANTINED
        (the caller commits the ring tail or releases the spill entry). Raises DeadLetterError or CommitLogError."""
        reason = redact(reason, self.url.password)
        added = self.dead_letters.append(batch, reason)
        self.commitlog.append(QUARANTINED, batch.id, key, batch.incarnation, batch.start, batch.end, flags)
        self.stats["batches_quarantined"] += 1
        self.stats["rows_quarantined"] += batch.rows
        self.stats["last_quarantine"] = f"{batch!r}: {reason}"[:500]
        log.error("the store refused %r (%d rows, not stored): %s — %s in %s; replay with `tickagg write "
                  "--replay-dead-letters` after fixing the cause", batch, batch.rows, reason,
                  "kept" if added else "already kept", self.dead_letters.directory)

    def _replay_one(self) -> None:
        batch = self.spill.peek()
        if batch is None:
            return
        batch.in_doubt = True  # a replay may repeat one whose ACK was lost: let the store check
        try:
            outcome = self._insert(batch, FROM_SPILL)
        except (CommitLogError, DeadLetterError) as exc:
            log.error("spill replay paused: %s", exc)
            self._store_down(str(exc))
            return
        if outcome is Outcome.FAILED:
            return
        self.spill.release(batch.id)  # stored, or quarantined: either way no longer the spill's
        if outcome is Outcome.STORED:
            self.stats["rows_replayed"] += batch.rows
            self.stats["batches_replayed"] += 1
        if not len(self.spill):
            log.info("spill replayed: the store has every spilled batch")
            self._compact()

    def _store_down(self, reason: str) -> None:
        reason = redact(reason, self.url.password)
        if self.store_up:
            log.warning("store down (%s); spilling to %s until it answers", reason, self.spill.directory)
        if self.store_up or not self.store_error:
            self._down_since, self._next_down_report = time.monotonic(), 0.0  # say it now (also at start)
        self.store_error = reason
        self.store_up = False
        self._next_probe = time.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, self.config.retry_max_s)

    def _report_down(self) -> None:
        """While the store does not answer: say so at once, then every ``down_report_s``, with the reason."""
        self._next_down_report = time.monotonic() + self.config.down_report_s
        down_s = time.monotonic() - self._down_since
        never = "" if self.store_ever_up else " and has not answered since the writer started"
        log.error("store %s is down for %.0f s%s: %s; %d batches (%d rows) spilled to %s, retrying",
                  self.url, down_s, never, self.store_error, len(self.spill), self.spill.rows, self.spill.directory)

    def _probe(self) -> None:
        if self._connect():
            log.info("store back; replaying %d spilled batches (%d rows)", len(self.spill), self.spill.rows)

    def _compact(self) -> None:
        """Rewrite the commit log to what a restart needs, spilling or not (writer/commitlog.py)."""
        if self.commitlog.size() < self.commitlog.compact_bytes:
            return
        before, after = self.commitlog.compact(self.spill.position() if len(self.spill) else None)
        log.info("commit log compacted: %d records -> %d", before, after)

    def _log_dropped(self) -> None:
        """Say (at most every 10 s) how many rows the spill cap dropped so far, per table."""
        dropped, now = self.spill.dropped_batches, time.monotonic()
        if dropped != self._dropped_logged[0] and now - self._dropped_logged[1] >= 10.0:
            self._dropped_logged = (dropped, now)
            log.warning("spill at its cap (%d MB, %s): %d batches dropped so far, rows per table %s",
                        self.config.spill_max_mb, self.config.spill_full, dropped, self.spill.dropped_rows)

