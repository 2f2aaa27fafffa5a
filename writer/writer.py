"""The writer process: aggregator output rings -> store, nothing lost, nothing twice.

One thread, one loop::

  pop every ring (aggregator out.*, feed <exchange>.events) into its batcher
  (nothing to do: sleep until a batch may be due, at most batch_ms — ``Writer.idle_s``; every ring quiet:
  read out.ticks' head every 0.2 s, work on the status report's beat, once a second — ``Writer.step``)
  for each batch that is due (1,000 rows / 50 ms; chDB: 200 ms; a quiet ring: quiet_batch_ms, 1 s, for ticks,
  quiet_summary_ms, 2 s, for the others; chDB 5 s / 10 s: writer/batcher.py):
      symbol ids: the group directory's run ids -> the store's stable ids (writer/symbol_ids.py), once
      store up:   new symbol ids to the store -> commit log INTENT -> insert -> ACK -> commit the ring tail
      store down: spill (fsync) -> commit log SPILLED -> commit the ring tail
  store up and spill not empty: replay the oldest spilled batch (INTENT, insert, ACK, release)
  store down: probe it now and then (reconnect, re-check the schema); say so at once and every
              ``down_report_s`` with the reason (an authentication failure as such)
  store refuses a batch for what is in it (StoreRejected: a constraint, a type, too many partitions):
              dead letters (writer/deadletter.py) -> commit log QUARANTINED -> commit the ring tail;
              counted and logged, never counted as stored, never retried by itself
  (the store-down half, the replay, restart recovery and dead letters live in writer/replay.py)

The ring tail moves only once a batch is durable (store acknowledged, or in
the spill), so a writer killed at any point finds every record either in the
ring, the spill or the store. On start it reads the commit log: per ring, an
ACK or SPILLED batch past the tail is skipped (durable already); an INTENT
without ACK is *in doubt* and re-formed as exactly the same batch (same id)
which the store then deduplicates (``insert_deduplication_token``) or, on
servers without it, is asked about first (``Store.insert``). Spilled batches
are always replayed as in doubt. A failed insert also makes its batch in doubt
(the server may have committed it before the connection broke).

Memory: each ring's buffer holds at most ``capacity`` rows (``max_batch_rows``
capped by ``max_batch_mb``, the ring size and a share of ``memory_budget_mb``;
the MB cap also keeps one insert from holding the loop up: writer/ring_attach.py); when the store is
down, full batches go to the spill, so memory does not grow with the outage.
The process imports neither Numba nor pandas: rings are read with plain loads
and ``pread`` (shm/plain.py; their pages never count in its RSS) and
ClickHouse inserts send numpy bytes as Native blocks (store/native_block.py).
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import os
import signal
import time

from store import Store, StoreError, StoreUnavailable, open_store
from store.base import StoreAuthError, StoreRejected
from store.batch import Batch, ring_key
from writer.batcher import RingBatcher
from writer.catalogue import feature_catalogue
from writer.commitlog import ACK, INTENT, SPILLED, CommitLog, CommitLogError, last_per_ring, replay_position, replayed_ids
from writer.dashboard_socket import DashboardSocket
from writer.deadletter import DeadLetterError, DeadLetters
from writer.insert_times import InsertTimes
from writer.replay import Outcome, SpillAndReplay
from writer.ring_attach import RingAttach
from writer.spill import Spill, SpillError
from writer.status_file import StatusFile
from writer.status_report import TIMELINE_SECONDS, StatusReport
from writer.store_latency import StoreLatency
from writer.symbol_ids import StoreSymbolIds, SymbolConflict
from store.tables import LATENCIES
from store.url import StoreURL, redact
from shm.ring import RingError

log = logging.getLogger("tickagg.writer")
QUIET_LATENCY_S = 5.0  # while every ring is quiet, the writer's own latency rows are stored this often, or every
# quiet_summary_ms if longer, as the other summaries (else each second)
QUIET_LOOK_S = 0.2  # while every ring is quiet, the empty ticks ring is looked at this often (else every batch_ms)


@dataclasses.dataclass(frozen=True)
class WriterConfig:
    group: str = "default"
    state_dir: str = "./data/writer"
    batch_rows: int | None = None  # None: the store's own default (Store.batch_rows: 1,000; chDB by batch_ms only)
    batch_ms: float | None = None  # None: the store's own default (Store.batch_ms: 50; chDB 200)
    # the batch age of a quiet ring (< batcher.QUIET_ROWS rows in the last second; 0: batch_ms); None: the store's
    # (Store.quiet_batch_ms: 1,000; chDB 5,000)
    quiet_batch_ms: float | None = None
    # ... of a quiet ring other than out.ticks (bars, features, regime, latency, events), at least quiet_batch_ms; 0
    # with quiet_batch_ms; None: the store's (Store.quiet_summary_ms: 2,000; chDB 10,000)
    quiet_summary_ms: float | None = None
    max_batch_rows: int = 100_000
    max_batch_mb: float = 4.0  # ... and at most this many MB of records (ticks: 47,662 rows; feature rows: 373)
    spill_rows: int = 100_000
    spill_ms: float = 1000.0
    memory_budget_mb: float = 200.0
    spill_fsync: str = "always"
    spill_segment_mb: int = 64
    spill_max_mb: float = 10240.0  # cap on the spill's bytes on disk (0: only the disk bounds it)
    spill_full: str = "drop-oldest"  # at the cap: "drop-oldest" segments or "drop-newest" batches
    commitlog_compact_mb: float | None = None  # compact the commit log past this size (None: CommitLog.COMPACT_BYTES)
    retry_min_s: float = 0.25
    retry_max_s: float = 2.0
    poll_ms: float = 1.0  # the shortest sleep between looks (the loop sleeps until a batch may be due: idle_s)
    rescan_s: float = 1.0
    retention_days: int = 0
    feature_names: tuple[str, ...] | None = None
    catalogue_version: int | None = None
    report_path: str | None = None  # the status is always at <state_dir>/<group>/status.json; also here
    report_every_s: float = 1.0
    rings: tuple[str, ...] | None = None  # short ring names to read (None: every ring the writer knows)
    down_report_s: float = 10.0  # while the store does not answer, say so this often (and once at once)


def _after(scheduled: float, every: float, now: float) -> float:
    """The next time of a chore done every ``every`` s, last scheduled at ``scheduled`` and done at ``now`` (a look may
    do it a little early: its schedule keeps the average; one that fell behind starts again from ``now``)."""
    following = scheduled + every
    return following if following > now else now + every


class Writer(RingAttach, SpillAndReplay, StatusReport):
    def __init__(self, url: StoreURL, config: WriterConfig = WriterConfig(), store: Store | None = None):
        self.url, self.config = url, config
        self.store = store or open_store(url)
        for setting in ("batch_ms", "quiet_batch_ms", "quiet_summary_ms"):  # None: the store's own default
            if getattr(config, setting) is None:
                self.config = config = dataclasses.replace(config, **{setting: getattr(self.store, setting)})
        self.state_dir = os.path.join(config.state_dir, config.group)
        os.makedirs(self.state_dir, exist_ok=True)
        compact_bytes = CommitLog.COMPACT_BYTES if config.commitlog_compact_mb is None else int(config.commitlog_compact_mb * (1 << 20))
        self.commitlog = CommitLog(os.path.join(self.state_dir, "commit.log"), compact_bytes)
        self.dead_letters = DeadLetters(os.path.join(self.state_dir, "deadletter"))
        records = self.commitlog.records
        self.spill = Spill(os.path.join(self.state_dir, "spill"), fsync=config.spill_fsync,
                           segment_bytes=config.spill_segment_mb << 20, replayed=replayed_ids(records),
                           replayed_to=replay_position(records), max_bytes=int(config.spill_max_mb * (1 << 20)),
                           full=config.spill_full)
        self._last = last_per_ring(records)
        self.symbols = StoreSymbolIds(self.state_dir, config.group)  # run ids -> store ids (writer/symbol_ids.py)
        self.refused = False  # a symbol id conflict: nothing more is written
        if len(replayed_ids(records)):  # the spill knows where its replay stands now: record it, drop the ids
            self.commitlog.compact(self.spill.position() if len(self.spill) else None)
        self._spilled_end = self.spill.spilled_ends()  # (ring, incarnation) -> end of its last spilled batch
        self._dropped_logged = (0, 0.0)  # (batches dropped at the spill cap when last logged, when)
        self.batchers: dict[str, RingBatcher] = {}
        self.store_up = False
        self._retry_s = config.retry_min_s
        self._next_probe = 0.0
        self._next_rescan = 0.0
        self._unreadable: dict[str, str] = {}  # ring -> why it could not be read, last time
        self._next_report = 0.0
        self._look = 0.0  # while every ring is quiet: the time between looks (else 0), as of the last full step
        self._ticks: RingBatcher | None = None  # out.ticks' batcher, once attached
        self._calm_until = 0.0  # until then a look only checks that out.ticks brought no burst (step)
        self._latency_stored_s = 0.0  # when the writer's own latency rows were last stored
        self._quiet_latency_s = max(QUIET_LATENCY_S, config.quiet_summary_ms / 1000)  # ... their age while all is quiet
        self._stop = False
        self.features = feature_catalogue(config.feature_names, config.catalogue_version)
        self.latency = StoreLatency()  # tick (feed receive) -> store ack (writer/store_latency.py)
        self.inserts = InsertTimes()  # how long each acknowledged insert took, per table (writer/insert_times.py)
        self.stats = {
            "rows_stored": {}, "batches_stored": 0, "rows_spilled": 0, "batches_spilled": 0, "rows_replayed": 0,
            "batches_replayed": 0, "in_doubt_resolved": 0, "rows_already_stored": 0, "recovered_skipped_rows": 0,
            "spill_errors": 0, "store_failures": 0, "latency_rows_lost": 0, "started_ns": time.time_ns(),
            "batches_quarantined": 0, "rows_quarantined": 0, "last_quarantine": "",
        }
        self.store_ever_up = False  # the store answered (connected, schema set up) at least once this run
        self.store_error = ""  # why the store is down now ("" while up)
        self._down_since = 0.0
        self._next_down_report = 0.0
        self.timeline: collections.deque[tuple[float, int]] = collections.deque(maxlen=TIMELINE_SECONDS)  # (time, ticks stored)
        self._ring_status: dict = {}
        self.dashboard: DashboardSocket | None = None  # opened by start()
        self._released: dict[str, int] = {}  # drained rings of an earlier layout let go: name -> their created_ns
        # <state-dir>/<group>/status.json always (`tickagg status` reads it), --report's path too (writer/status_file.py)
        self._status_files = [StatusFile(path) for path in
                              dict.fromkeys([os.path.join(self.state_dir, "status.json"), *filter(None, [config.report_path])])]

    # -- start ------------------------------------------------------------------
    def start(self) -> None:
        self.latency.open(self.config.group)  # its histograms, published for the Prometheus exporter
        self._connect()
        # the dashboard's panel queries (chDB lets only this process open the store): writer/dashboard_socket.py
        self.dashboard = DashboardSocket.open(os.path.join(self.state_dir, "dashboard.sock"))
        self.rescan()

    def _connect(self) -> bool:
        try:
            self.store.connect()
            applied = self.store.setup(self.features.names, self.features.version, self.config.retention_days)
            self._reconcile_symbols()
        except StoreUnavailable as exc:
            self._store_down(f"store not reachable: {exc}")
            return False
        except StoreAuthError as exc:
            self._store_down(f"store refused the login: {exc}")
            return False
        except StoreError as exc:
            if self.store.kind == "chdb":
                raise  # a local store that cannot open will not get better by waiting
            self._store_down(f"store refused: {exc}")
            return False
        if not self.store_up and self.store_error:
            log.warning("store answers again after %.0f s: %s", time.monotonic() - self._down_since, self.store.describe())
        self.store_ever_up, self.store_error = True, ""
        if applied:
            log.info("schema migrations %s applied to %s", applied, self.store.describe())
        log.info("writing to %s; feature catalogue v%d from %s", self.store.describe(), self.features.version,
                 self.features.source)
        self.store_up, self._retry_s = True, self.config.retry_min_s
        return True

    def _reconcile_symbols(self) -> None:
        """Take the store's symbol ids and give it ours; a conflict stops the writer (exit 78) before any row."""
        try:
            self.symbols.reconcile(self.store)
        except SymbolConflict as exc:
            self.refused, self.store_up, self.store_error = True, False, f"symbol id conflict: {exc}"
            self._report()
            raise

    # -- loop -------------------------------------------------------------------
    def run(self, seconds: float | None = None) -> None:
        """Run until ``stop()`` (SIGTERM/SIGINT) or for ``seconds``; then flush and close."""
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            while not self._stop and (deadline is None or time.monotonic() < deadline):
                if not self.step():
                    time.sleep(self.idle_s(deadline))
        finally:
            self.shutdown()

    def _triggers(self, store_up: bool) -> tuple[int, float, bool]:
        """A batch's (rows, age in s, whether quiet rings wait their quiet age) triggers: the insert ones while the
        store is up, the spill ones while down."""
        if store_up:
            return self.config.batch_rows or self.store.batch_rows, self.config.batch_ms / 1000, self.config.quiet_batch_ms > 0
        return self.config.spill_rows, self.config.spill_ms / 1000, False

    def idle_s(self, deadline: float | None = None) -> float:
        """How long the loop may sleep after a step with nothing to do: until the first batch may be due (at most
        the batch age: records arriving meanwhile are flushed on the next look, within ``batch_ms`` of their
        arrival, ``quiet_batch_ms`` on a quiet ring), the next report, rescan, probe or spill sync; at least
        ``poll_ms``. A busy writer so wakes about once per ``batch_ms`` (20 times a second by default), not every
        ``poll_ms``. While every ring is quiet it wakes every ``QUIET_LOOK_S`` (at most ``quiet_batch_ms``) to read
        out.ticks' head (a burst after a silence is seen within that) and works on the report's beat, once a second
        (``step``): an idle group's writer wakes 5 times a second, inserts included, and works once."""
        now = time.monotonic()
        if now < self._calm_until:  # every ring quiet, nothing due before the next look or beat (step)
            wake = min(self._look, self._calm_until - now, float("inf") if deadline is None else deadline - now)
            return max(self.config.poll_ms / 1000, wake)
        rows, age, quiet = self._triggers(self.store_up)
        look = self._quiet_look_s()
        if look:
            wake = [look, self._next_report - now, self.spill.sync_in(now),
                    *(b.retry_at - now for b in self.batchers.values() if b.frozen is not None)]
        else:
            wake = [age, self._next_rescan - now, self._next_report - now, self.spill.sync_in(now)]
            wake += [b.wake_in(now, rows, b.age_limit(age, quiet)) for b in self.batchers.values()  # (empty: <= its
                     if b.wakes_before(age, rows)]                                                   # age, >= the look)
        if not self.store_up:
            wake += [self._next_probe - now, self._next_down_report - now]
        if deadline is not None:
            wake.append(deadline - now)
        return max(self.config.poll_ms / 1000, min(wake))

    def _quiet_look_s(self) -> float:
        """While every ring is quiet (and the store is up): the time between looks; else 0 (look as batches fall due)."""
        if not (self.store_up and self._quiet()):
            return 0.0
        return max(self.config.batch_ms / 1000, min(QUIET_LOOK_S, self.config.quiet_batch_ms / 1000))

    def _quiet(self) -> bool:
        """Quiet batches are on and every ring is quiet (writer/batcher.py)."""
        return self.config.quiet_batch_ms > self.config.batch_ms and all(b.quiet for b in self.batchers.values())

    def stop(self, *_args) -> None:
        self._stop = True

    def step(self) -> bool:
        """One pass of the loop; False when there was nothing to do (the caller may sleep).

        While every ring is quiet the report's second is the writer's beat: a step on the beat does what falls due
        before the next one (the inserts of quiet batches, the summary rings' looks, the rescan, the report), so an
        idle group's writer works once a second; between beats a look only reads out.ticks' head (``_calm``) and
        works when that brought a burst, or a chore falls due before the next beat (a shorter quiet age, a frozen
        batch's retry, a spill sync, a dashboard request)."""
        now = time.monotonic()
        if now < self._calm_until and self._calm(now):
            return False
        look = self._quiet_look_s()
        beat = bool(look) and now >= self._next_report
        ahead = self.config.report_every_s if beat else look  # what falls due this soon is done now
        if now + ahead >= self._next_rescan:
            self._next_rescan = _after(self._next_rescan, self.config.rescan_s, now)
            self.rescan()
        for batcher in self.batchers.values():
            batcher.pop(look > 0, ahead)
        rows, age, quiet = self._triggers(self.store_up)
        busy = False
        for batcher in self.batchers.values():
            if (batcher.count or batcher.frozen is not None) and batcher.due(now, rows, batcher.age_limit(age, quiet), ahead):
                self._flush(batcher)
                busy = not look  # a quiet ring brought all it had: no need to look again at once
        self.spill.tick()
        if not self.store_up and time.monotonic() >= self._next_probe:
            self._probe()
        if not self.store_up and time.monotonic() >= self._next_down_report:
            self._report_down()
        if self.store_up and len(self.spill):
            self._replay_one()
            busy = True
        if self.dashboard is not None and not busy:  # a dashboard query only when no batch was due
            busy = self.dashboard.serve(self.store, self.store_up)
        if now >= self._next_report:
            self._next_report = _after(self._next_report, self.config.report_every_s, now)
            if not look or now - self._latency_stored_s >= self._quiet_latency_s:
                self._latency_stored_s = now
                self._flush_latency()
            self.latency.publish()
            self._report()
            self._log_dropped()
            self._compact()
        self._look = look = self._quiet_look_s()
        self._calm_until = self._calm_deadline(time.monotonic(), look, age) if look and not busy and not len(self.spill) else 0.0
        return busy

    def _calm_deadline(self, now: float, look: float, age: float) -> float:
        """While every ring is quiet: until when a look may skip the full step. The next beat (the report), or sooner
        what falls due before it: a batch by its age, a quiet summary ring's look, a frozen batch's retry, a spill sync
        (short of what out.ticks brings: ``_calm``)."""
        beat = self._next_report
        due = [beat, self._next_rescan - look, now + self.spill.sync_in(now)]
        for b in self.batchers.values():
            if b.frozen is not None:
                due.append(b.retry_at)
            elif b.count or b.summary:
                at = b.first_s + b.age_limit(age) if b.count else b.drained_s + b.quiet_s
                if at < beat:
                    due.append(at - look)
        return min(due)

    def _calm(self, now: float) -> bool:
        """A look with nothing due: only out.ticks' head is read. False (a full step) when it brought a burst (since
        the last pop, as many rows as end a ring's quiet: a steadier stream that ends it is seen on the beat), when
        rows wait there unpopped whose age comes before the next look and the next beat, or a dashboard request
        waits."""
        b = self._ticks
        if b is not None:
            arrived = b.unpopped()
            if arrived + b.count >= b.quiet_rows:  # a burst since the last pop alone would end the quiet
                return False
            due = b.drained_s + b.quiet_s  # of rows that arrived after the pop that drained the ring
            if arrived and not b.count and now + self._look >= due and due < self._next_report:
                return False
        return self.dashboard is None or not self.dashboard.waiting()

    def _flush(self, batcher: RingBatcher) -> None:
        batch = batcher.batch()
        if not batch.store_ids:  # fresh from the ring: run ids -> store ids, before it goes anywhere
            if batch.table.symbol_ids:
                self.symbols.translate(batch.records)
            batch.store_ids = True
        try:
            if self.store_up and self._insert(batch) is not Outcome.FAILED:
                batcher.durable(batch)
                return
            if not self.spill.append(batch):  # refused at the spill cap: lost by decision, counted, tail moves on
                batcher.durable(batch)
                return
            self.commitlog.append(SPILLED, batch.id, batcher.key, batch.incarnation, batch.start, batch.end)
        except (SpillError, CommitLogError, DeadLetterError) as exc:
            self.stats["spill_errors"] += 1
            batch.in_doubt = True  # it may be in the store or the spill already; retried with the same id
            log.error("%s — %d rows stay in ring %s (its tail is not committed) until there is room",
                      exc, batch.rows, batcher.name)
            batcher.freeze(batch, time.monotonic() + self._retry_s)
            return
        self.stats["rows_spilled"] += batch.rows
        self.stats["batches_spilled"] += 1
        batcher.durable(batch)

    def _insert(self, batch: Batch, flags: int = 0) -> Outcome:
        """Insert ``batch`` exactly once. FAILED: the batch is now in doubt and the store marked down;
        QUARANTINED: the store refused its content, it is in the dead letters (durable, not stored)."""
        key = ring_key(batch.ring_name)
        try:
            self.symbols.publish(self.store)  # the ids before the rows that use them
        except StoreError as exc:
            self.stats["store_failures"] += 1
            log.warning("symbol ids not written (%s); %r waits", redact(str(exc), self.url.password), batch)
            self._store_down(str(exc))
            return Outcome.FAILED
        self.commitlog.append(INTENT, batch.id, key, batch.incarnation, batch.start, batch.end, flags)
        was_in_doubt = batch.in_doubt
        try:
            began = time.monotonic_ns()
            inserted = self.store.insert(batch)
            acked_ns = time.time_ns()
            self.inserts.record(batch.table.name, time.monotonic_ns() - began)
        except StoreRejected as exc:
            self._quarantine(batch, key, flags, str(exc))
            return Outcome.QUARANTINED
        except StoreError as exc:
            batch.in_doubt = True
            self.stats["store_failures"] += 1
            level = logging.WARNING if isinstance(exc, StoreUnavailable) else logging.ERROR
            log.log(level, "insert of %r failed: %s", batch, redact(str(exc), self.url.password))
            self._store_down(str(exc))
            return Outcome.FAILED
        try:
            self.commitlog.append(ACK, batch.id, key, batch.incarnation, batch.start, batch.end, flags)
        except CommitLogError:
            batch.in_doubt = True  # stored, but a restart would not know: retry resolves it by id
            raise
        if was_in_doubt:
            self.stats["in_doubt_resolved"] += 1
            self.stats["rows_already_stored"] += batch.rows - inserted
        stored = self.stats["rows_stored"]
        stored[batch.table.name] = stored.get(batch.table.name, 0) + batch.rows
        self.stats["batches_stored"] += 1
        if batch.table.name == "ticks":
            self.latency.record(batch.records, acked_ns)
        return Outcome.STORED

    # -- latency ----------------------------------------------------------------
    def _flush_latency(self, everything: bool = False) -> None:
        """Write finished seconds' tick->store latency summaries to the latency table (best effort)."""
        current = time.time_ns() // 1_000_000_000 * 1_000_000_000
        rows = self.latency.finished_rows(current, everything)
        if not len(rows):
            return
        if not self.store_up:
            self.stats["latency_rows_lost"] += len(rows)
            return
        batch = Batch(f"writer.{self.config.group}.latency", 0, int(current), int(current) + len(rows), LATENCIES, rows)
        try:
            self.store.insert(batch)
        except StoreError as exc:
            self.stats["latency_rows_lost"] += len(rows)
            log.debug("latency summaries not written: %s", exc)

    def shutdown(self) -> None:
        """Pop each ring once more (what its producer wrote before it stopped: a quiet ring is only looked at on the
        beat), make every popped record durable (store or spill), then close; what did not fit in a batch stays in
        its ring for the next writer. After a symbol id conflict nothing is written: popped records stay in their
        rings (tails not committed)."""
        for batcher in self.batchers.values():
            if self.refused:
                break
            if batcher.frozen is None:
                try:
                    batcher.pop()
                except RingError as exc:  # damaged: what was popped before is still made durable
                    log.warning("%s not read at shutdown: %s", batcher.name, exc)
            if batcher.frozen is not None or batcher.count:
                self._flush(batcher)
        self._flush_latency(everything=True)
        self._report()
        self.latency.close()
        for batcher in self.batchers.values():
            batcher.close()
        self.spill.close()
        self.commitlog.close()
        self.dead_letters.close()
        self.symbols.close()
        if self.dashboard is not None:
            self.dashboard.close()
        self.store.close()


def install_signal_handlers(writer: Writer) -> None:
    signal.signal(signal.SIGTERM, writer.stop)
    signal.signal(signal.SIGINT, writer.stop)
