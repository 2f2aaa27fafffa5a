"""The aggregator's poll loop, inside Numba: pop every input ring, process, publish, commit.

Calling a kernel from Python unboxes every array it takes (~0.4 µs each; the
aggregator's state and outputs are ~75 arrays), so the loop runs in Numba
for a whole time slice (aggregator/pace.py: 50 ms, 1 s when quiet) and
returns to Python only between slices (signals, new rings, counters, ring
checks), or early when a ring file changed size (looked at every 50 ms from
inside, shm/file_size.py). Input rings travel as fixed-length tuples
(MAX_INPUTS, unused places hold an empty dummy ring) so one compiled version
serves any number of feeds. While quiet, the kernel sleeps on the input rings'
doorbells (shm/doorbell.py) instead of napping: a producer's push wakes it.
"""
from __future__ import annotations

import numba
import numpy as np

from aggregator.agg_state import C_LAST_SWEEP, C_NEXT_DUE, C_SECOND
from aggregator.fold import fold_batch, housekeeping, housekeeping_due
from aggregator.outputs import flush_all
from shm import header as H
from shm.bell_wait import B_ERRNO, INTERRUPTED, sleep_on_bells
from shm.clock import monotonic_ns, now_ns, sleep_us
from shm.file_size import first_changed
from shm.kernels import commit, pop, sync
from shm.records import TICK

MAX_INPUTS = 16


def dummy_ring() -> tuple[np.ndarray, np.ndarray]:
    """An always-empty ring for the unused places of the input tuples."""
    header = np.zeros(H.HEADER_BYTES // 8, np.int64)
    header[H.W_CAPACITY] = 2
    return np.zeros(2, TICK), header


@numba.njit(cache=True, nogil=True)
def housekeeping_at(clock, sweep_every_ns) -> int:
    """The wall-clock ns at which ``housekeeping_due`` turns true if no tick comes (a doorbell wait's deadline)."""
    return min(max(clock[C_LAST_SWEEP] + sweep_every_ns, clock[C_NEXT_DUE]), clock[C_SECOND] + 1_000_000_000)


@numba.njit(cache=True, nogil=True)
def serve(in_data, in_header, n_inputs, positions, scratch, state, outputs, slice_ns, spin_ns, min_sleep_us,
          max_sleep_us, feature_budget, files, sizes, check_ns, max_ticks, bells, deadline, bell_ns,
          bell_counts) -> int:
    """Serve for ``slice_ns``: returns the ticks processed.

    Returns early, for Python's checks (aggregator/main.py), once a ring file
    in ``files`` (descriptors of every input and output ring) is no longer its
    size in ``sizes`` (looked at every ``check_ns`` and before each
    housekeeping, whose bar closes may come long after the last look when
    quiet: a file cut short must be let go before a read or write past its
    end, SIGBUS; a cut within a busy turn's few µs is still a race), and once more than
    ``max_ticks`` ticks came (0: never; a quiet slice ends on a burst).

    One turn: pop a batch from each input ring -> ``fold_batch`` -> publish the
    outputs -> commit each input's tail (a crash before the commit replays
    the turn; it never loses it) -> ``housekeeping``. A turn that finds
    nothing, ``spin_ns`` after the last tick, sleeps: ``min_sleep_us`` first,
    doubling with each empty turn up to ``max_sleep_us`` (0: busy-poll). So a
    tick waits at most ``max_sleep_us`` (plus the kernel's timer slack) before
    it is popped, and an idle aggregator wakes ~1e6 / ``max_sleep_us`` times a second.

    ``bell_ns`` > 0 (quiet): such a turn sleeps on the doorbells instead
    (``bells``, ``deadline``: shm/bell_wait.py), until a producer pushes, at
    most ``bell_ns`` and never past the next housekeeping or the slice's end;
    the outcomes are counted in ``bell_counts``. A doorbell the kernel refused
    (``bell_counts[B_ERRNO]``) means timed naps again. A signal during the
    wait ends the slice (Python handles it).
    """
    started = monotonic_ns()
    last_work = started
    next_check = started + check_ns
    total = 0
    nap = min_sleep_us
    popped = np.zeros(n_inputs, np.bool_)
    marks, ends, sweep_every_ns, counts = state.clock, state.pending.ends, state.sweep_every_ns, outputs.counts
    while True:
        worked = False
        for r in range(n_inputs):
            data, header = in_data[r], in_header[r]  # once: each takes a reference (an atomic count up and down)
            positions[r] = sync(data, header, positions[r])  # impossible head: skip to it, counted
            count = pop(data, header, positions[r], scratch)
            if count:
                fold_batch(scratch[:count], state, outputs, now_ns(), positions[r])
                positions[r] += count
                popped[r] = True
                total += count
                worked = True
        if worked:
            published = flush_all(outputs, state.histograms)
            for r in range(n_inputs):
                if popped[r]:
                    commit(in_header[r], positions[r], published)
                    popped[r] = False
        queued = 0
        now = now_ns()
        if housekeeping_due(marks, ends, now, sweep_every_ns):  # an idle turn calls nothing with the state
            if first_changed(files, sizes) >= 0:  # it may write bars: never into a file cut short since the last check
                return total
            queued = housekeeping(state, outputs, now, feature_budget)
        if counts.any():
            flush_all(outputs, state.histograms)
        clock = monotonic_ns()
        if worked:
            last_work = clock
            nap = min_sleep_us
        elif queued == 0 and max_sleep_us > 0 and clock - last_work >= spin_ns:
            wait_ns = 0
            if bell_ns > 0 and n_inputs > 0 and bell_counts[B_ERRNO] == 0:
                wait_ns = min(bell_ns, started + slice_ns - clock, housekeeping_at(marks, sweep_every_ns) - now)
            if wait_ns >= 1000 * min_sleep_us:
                if sleep_on_bells(in_header, n_inputs, positions, bells, deadline, wait_ns,
                                  bell_counts) == INTERRUPTED:
                    return total
                clock = monotonic_ns()
            else:
                sleep_us(nap)
                nap = min(2 * nap, max_sleep_us)
        if clock - started >= slice_ns or (max_ticks > 0 and total > max_ticks):
            return total
        if clock >= next_check:
            next_check = clock + check_ns
            if first_changed(files, sizes) >= 0:
                return total
