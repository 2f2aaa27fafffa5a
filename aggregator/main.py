"""The aggregator process: attach every feed ring of a group, busy-poll them, run the kernels.

The loop itself runs in Numba (aggregator/poll.py) in 50 ms slices (1 s
when quiet); between slices Python handles signals, checks the rings (a file
cut short must be let go before the kernel touches it; inside a slice the
kernel compares the files' sizes every 50 ms and returns when one changed),
publishes counters, looks for new rings and, once a second, publishes the
cumulative latency histograms (``tickagg.<group>.latency_hist``,
shm/histogram_segment.py). Those chores and the call into Numba cost ~0.5 ms
(~1 % of a core at 20 slices a second, ~0.05 % at 1). With nothing to read
(after ``spin_us``, default 0) the loop sleeps between looks, ``min_sleep_us``
(500) first and twice as long after each empty look, up to ``idle_sleep_us``
(1,000): the wake bound while ticks flow. Each wakeup costs ~20 µs of CPU on a
busy 2-core VM (the scheduler's switch and timer): at 80k ticks/s (`tickagg
bench e2e`, same code, interleaved) 100 µs naps (~3,000 wakeups a second) cost
the aggregator 19.7-20.4 % of a core, 500 µs 13.8-14.5 %, for tick-to-signal
p50 0.94-1.07 ms instead of 0.75-0.83. A quiet
group (at most 25 ticks in the last second, aggregator/pace.py) naps up to
``deep_sleep_us`` (5,000): the wake bound after a silence, ~250 wakeups a
second instead of ~1,000; its bar sweep (every symbol, each 10 ms) waits for
the earliest open bar's close unless a tick came. A quiet aggregator sleeps on
its input rings' doorbells instead (``doorbell``, on by default;
shm/doorbell.py): a producer's push wakes it, and it wakes on its own at most
every 150 ms, and for bar closes (~10 wakeups a second when idle, not ~250).
A tick that arrives while the aggregator naps is popped within the nap's bound
plus the kernel's timer slack (50 µs by default), while it waits on a doorbell
on the producer's wake (a missed wake: within 150 ms); ``busy_poll`` never
sleeps (lowest latency, one core at 100 %). The doorbell's outcomes are
published with the counters: bell_wakes, bell_timeouts, bell_missed (timed
out with a tick waiting), bell_ready (armed, a tick already there), bell_errno.
Tick rings that appear later (a feed started after the aggregator) are
attached within about a second (a quiet slice). The objects loaded at start are frozen out of the
garbage collector (``gc.freeze``): a collection never walks Numba's modules.

Restart without republishing: a turn publishes its outputs and then commits
its inputs, so an aggregator killed between the two would publish that turn's
ticks again. Each published tick carries its input ring position
(``source_pos``); on attaching a ring, ticks of that exchange still in
out.ticks past the ring's tail were published already, and the ring's tail
moves past them (``already_published``). Their bars and signals are not
rebuilt: like every bar in progress at a crash, they are lost (the first bar
per symbol after a start is flagged).
"""
from __future__ import annotations

import gc
import logging
import os
import signal
import time

import numpy as np
import psutil

from aggregator import fold
from aggregator.agg_state import C_SECOND, K_BARS1M, K_BARS1S, K_FEATURE_ROWS, K_LATE, K_NO_SLOT, K_PENDING_MAX, K_TICKS, new_agg_state
from aggregator.outputs import TICKS, flush_all, open_outputs
from aggregator.pace import CHECK_S, IDLE_SLEEP_US, MIN_SLEEP_US, Pace
from aggregator.poll import MAX_INPUTS, dummy_ring, serve
from aggregator.stored_pages import StoredPages
from shm import header as H
from shm import segment
from shm.bell_wait import B_ERRNO, BELL_COUNTS, new_waiters
from shm.compile_lock import compile_lock
from shm.doorbell import bell_address
from shm.histogram_segment import open_publisher
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import CONSUMER, Ring, RingDamagedError, RingError, ring_name
from shm.topology import tick_ring

log = logging.getLogger("tickagg.aggregate")
BATCH = 4096
RESTART_WINDOW = 2 * MAX_INPUTS * BATCH  # out.ticks records looked at on attach: more than one turn of every ring
ATTACH_EVERY_S = 0.5  # how often to look for new tick rings (between slices: about a second when quiet)
COUNTER_NAMES = ("ticks", "late_ticks", "ticks_without_slot", "feature_rows", "bars1s", "bars1m", "feature_queue_max",
                 "input_rings", "slices", "quiet_slices", "bell_wakes", "bell_timeouts", "bell_missed", "bell_ready",
                 "bell_errno")  # the last five: shm/bell_wait.py's B_* order


class Aggregator:
    def __init__(self, group: str = "default", cpu: int | None = None, busy_poll: bool = False,
                 spin_us: float = 0.0, idle_sleep_us: float = IDLE_SLEEP_US, feature_budget: int = 8,
                 min_sleep_us: float = MIN_SLEEP_US, deep_sleep_us: float = 5000.0,
                 output_capacities: dict[str, int] | None = None, doorbell: bool = True, **state_options):
        self.group = group
        self.cpu = pin_to_cpu(cpu)
        self.busy_poll, self.spin_ns = busy_poll, int(spin_us * 1000)
        self.max_sleep_us = 0 if busy_poll or idle_sleep_us <= 0 else max(1, int(idle_sleep_us))
        self.min_sleep_us = max(1, min(int(min_sleep_us), self.max_sleep_us))
        self.deep_sleep_us = max(0, int(deep_sleep_us))
        self.doorbell = doorbell
        self._bell_counts = np.zeros(BELL_COUNTS, np.int64)
        self._bell_deadline = np.zeros(2, np.int64)
        self.feature_budget = feature_budget
        self.state = new_agg_state(**state_options)
        self.outputs, self.output_rings = open_outputs(group, output_capacities)
        self.status = self.output_rings[TICKS]  # out.ticks: its metrics block holds our counters
        self.status.metric_names = list(COUNTER_NAMES)
        self.stored_pages = StoredPages(self.output_rings, {"out.ticks": RESTART_WINDOW, "out.features": 0})
        self.inputs: dict[str, Ring] = {}
        self._scratch = np.zeros(BATCH, dtype=TICK)
        self._positions = np.zeros(MAX_INPUTS, np.int64)
        self._dummy = dummy_ring()
        self._stopping = False
        self._attach_errors: dict[str, str] = {}  # ring -> the last error logged (each logged once)
        self.warm_up()
        self.histograms = open_publisher(group, "aggregator")  # None: not published (logged)
        self._histograms_second = 0  # state.clock[C_SECOND] when last published
        gc.collect()
        gc.freeze()  # the modules and kernels loaded so far are never garbage: no collection walks them again

    def warm_up(self) -> None:
        """Compile (or load from the cache) every kernel before serving, so no tick waits for it."""
        started = time.monotonic()
        with compile_lock():  # Numba's cache takes one compiler at a time (shm/compile_lock.py)
            fold.fold_batch(self._scratch[:0], self.state, self.outputs, time.time_ns(), 0)
            fold.housekeeping(self.state, self.outputs, 0, 0)
            flush_all(self.outputs, self.state.histograms)
            self._rebuild_inputs()
            serve(*self._served[:2], 0, self._positions, self._scratch, self.state, self.outputs, 0, 0, 0, 0, 0,
                  *self._served[3:5], 0, 0, self._served[5], self._bell_deadline, 0, self._bell_counts)
        log.info("kernels ready in %.1f s", time.monotonic() - started)

    def attach_new_rings(self) -> None:
        for exchange in EXCHANGE_IDS:
            name = ring_name(self.group, tick_ring(exchange))
            if exchange in self.inputs or not segment.exists(name) or len(self.inputs) >= MAX_INPUTS:
                continue
            try:
                ring = Ring(name, CONSUMER, TICK)
                published = already_published(self.status, EXCHANGE_IDS[exchange], ring)
                if published > ring.head:
                    log.error("%s: out.ticks says position %d was published, past the ring's head %d; reading from "
                              "the tail", name, published, ring.head)
                elif published > ring.tail:
                    log.warning("%s: %d ticks past the tail were published before a restart; not again",
                                name, published - ring.tail)
                    ring.advance(published)
                self._positions[len(self.inputs)] = ring.tail  # the kernel reads on from the committed tail
                ring.kernel_arrays()[1][H.W_ASLEEP] = 0  # one killed asleep left it set: its producer rings in vain
                self.inputs[exchange] = ring
                self._rebuild_inputs()
                log.info("reading %s from tail %d", name, ring.tail)
            except RingError as exc:
                if self._attach_errors.get(name) != str(exc):
                    log.warning("cannot read %s: %s", name, exc)
                self._attach_errors[name] = str(exc)
            else:
                self._attach_errors.pop(name, None)

    def check_rings(self) -> None:
        """Between slices: an input ring whose file changed size, or whose layout words were overwritten and
        whose producer is gone, is let go (its producer's restart replaces it, we attach the new one); a damaged
        output ring stops the aggregator with the reason (a restart replaces it)."""
        for ring in self.output_rings:
            problem = ring.check()
            if problem:
                raise RingDamagedError(f"output ring {problem}; stopping (a restart replaces it once no process holds it)")
        damaged = [exchange for exchange, ring in self.inputs.items()
                   if ring.check() or (ring.overwritten() and not ring.status()["producer_alive"])]
        if not damaged:
            return
        count = len(self.inputs)
        kept = [(exchange, ring, int(self._positions[i])) for i, (exchange, ring) in enumerate(self.inputs.items())
                if exchange not in damaged]
        for exchange in damaged:
            log.error("letting %s go (damaged): its producer's restart replaces it", self.inputs[exchange].name)
            self.inputs[exchange].close()
        self.inputs = {exchange: ring for exchange, ring, _ in kept}
        self._positions[:count] = 0
        self._positions[: len(kept)] = [position for _, _, position in kept]
        self._rebuild_inputs()

    def stop(self, *_signal) -> None:
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, seconds: float | None = None) -> None:
        """Serve until stopped (or for ``seconds``): Numba time slices (aggregator/pace.py), Python chores between."""
        deadline = time.monotonic() + seconds if seconds else None
        slices = quiet_slices = 0
        next_attach = time.monotonic() + ATTACH_EVERY_S
        pace = Pace(self.max_sleep_us, self.deep_sleep_us, time.monotonic(), self.doorbell)
        check_ns = int(CHECK_S * 1e9)
        while not self._stopping:
            data, headers, count, files, sizes, bells = self._served
            quiet_slices += pace.quiet
            ticks = serve(data, headers, count, self._positions, self._scratch, self.state, self.outputs,
                          pace.slice_ns, self.spin_ns, self.min_sleep_us, pace.sleep_us, self.feature_budget,
                          files, sizes, check_ns, pace.max_ticks, bells, self._bell_deadline, pace.bell_ns,
                          self._bell_counts)
            slices += 1
            if self._bell_counts[B_ERRNO] and pace.doorbell:
                pace.doorbell = False
                log.error("the kernel refused the doorbell wait (futex_waitv: %s): napping up to %d µs while quiet",
                          os.strerror(int(self._bell_counts[B_ERRNO])), self.deep_sleep_us)
            pace.after_slice(time.monotonic(), ticks)
            self.check_rings()
            self.stored_pages.release(time.monotonic())
            if time.monotonic() >= next_attach:
                next_attach = time.monotonic() + ATTACH_EVERY_S
                self.attach_new_rings()
            self._publish_counters(slices, quiet_slices)
            self._publish_histograms()
            if deadline and time.monotonic() >= deadline:
                break
        flush_all(self.outputs, self.state.histograms)
        self._publish_counters(slices, quiet_slices)
        self._publish_histograms()

    def _rebuild_inputs(self) -> None:
        """What ``serve`` takes about the rings, built again whenever an input ring comes or goes: records of
        each input, header of each input (MAX_INPUTS long, dummies at the end), inputs in use, and every ring
        file (inputs and outputs) with the size validated at attach, for the kernel's size checks, and the
        inputs' doorbells (shm/bell_wait.py ``new_waiters``)."""
        arrays = [ring.kernel_arrays() for ring in self.inputs.values()]
        padded = arrays + [self._dummy] * (MAX_INPUTS - len(arrays))
        files = [ring.file_and_size() for ring in [*self.inputs.values(), *self.output_rings]]
        self._served = (tuple(records for records, _ in padded), tuple(header for _, header in padded), len(arrays),
                        np.array([fd for fd, _ in files], np.int64), np.array([size for _, size in files], np.int64),
                        new_waiters([bell_address(header) for _, header in arrays], MAX_INPUTS))

    def _publish_counters(self, slices: int, quiet_slices: int = 0) -> None:
        c = self.state.counters
        values = [c[K_TICKS], c[K_LATE], c[K_NO_SLOT], c[K_FEATURE_ROWS], c[K_BARS1S], c[K_BARS1M], c[K_PENDING_MAX],
                  len(self.inputs), slices, quiet_slices, *self._bell_counts]
        self.status.metrics[: len(values)] = values

    def _publish_histograms(self) -> None:
        """After the kernel summarised a second (added it to state.latency_totals): publish the totals."""
        second = int(self.state.clock[C_SECOND])
        if self.histograms is not None and second != self._histograms_second:
            self._histograms_second = second
            self.histograms.publish(self.state.latency_totals)

    def close(self) -> None:
        if self.histograms is not None:
            self.histograms.close()
            self.histograms = None
        for ring in [*self.inputs.values(), *self.output_rings]:
            ring.close()


def already_published(out_ticks: Ring, exchange_id: int, ring: Ring) -> int:
    """Input position just after the last tick of ``ring`` (exchange ``exchange_id``) in out.ticks; 0: none.

    We are out.ticks' only producer and have pushed nothing yet, so its last
    RESTART_WINDOW slots hold what the previous aggregator published last.
    Ticks popped before ``ring`` was created belong to an older ring of that name.
    """
    data, _ = out_ticks.kernel_arrays()
    head = out_ticks.head
    span = min(head, out_ticks.capacity, RESTART_WINDOW)
    recent = data[np.arange(head - span, head) & (out_ticks.capacity - 1)]
    mine = recent[(recent["exchange_id"] == exchange_id) & (recent["ts_pop_ns"] >= ring.created_ns)]
    return int(mine["source_pos"].max()) + 1 if len(mine) else 0


def pin_to_cpu(cpu: int | None) -> int:
    """Pin this process to ``cpu`` (default: the last CPU it may use); return the CPU."""
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    if chosen not in allowed:
        raise ValueError(f"--cpu {cpu} is not one of the CPUs this process may use: {allowed}")
    psutil.Process().cpu_affinity([chosen])
    return chosen


def compile_kernels() -> float:
    """Compile (or load from the cache) the aggregator's kernels in a throw-away group, and the offline feature
    driver (`tickagg features`, bench, tests); seconds taken."""
    from aggregator.features import batch, synthetic

    group = f"compile{os.getpid()}"
    started = time.monotonic()
    try:
        Aggregator(group, cpu=sorted(os.sched_getaffinity(0))[0], max_symbols=1).close()
    finally:
        for name in segment.names(ring_name(group, "")):
            segment.remove(name)
    with compile_lock():
        batch.compute_records(synthetic.bars("normal", 2))
    return time.monotonic() - started


if __name__ == "__main__":
    print(f"aggregator kernels ready in {compile_kernels():.1f} s")
