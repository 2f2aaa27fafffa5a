"""The per-batch fold, in Numba: ticks in; stamped ticks, bars, signals, features, latency out.

``fold_batch`` handles one popped batch of one feed ring (each tick's signal
comes from aggregator/signals.py); ``housekeeping`` runs
once per loop turn (wall-clock bar closes, feature work, the per-second
latency rows and late-tick events). Feature vectors are computed from a queue
of closed 1 min bars a few at a time, so a minute boundary with thousands of
symbols never holds up the ticks behind it.
"""
from __future__ import annotations

import numba

from aggregator import bars, latency, signals
from aggregator.agg_state import (
    C_LAST_SWEEP, C_NEXT_DUE, C_SECOND, EXCHANGE_IDS, HEAD, K_BARS1M, K_BARS1S, K_FEATURE_ROWS, K_LATE, K_NO_SLOT,
    K_PENDING_MAX, K_TICKS, TAIL,
)
from aggregator.features.kernel import update as update_features
from aggregator.features.layout import CATALOGUE_VERSION
from aggregator.outputs import (
    BARS1M, BARS1S, EVENTS, FEATURES, LATENCY, REGIME, SIGNALS, TICKS, flush_all, nearly_full, staging_room,
)
from aggregator.regime import update_regime
from shm.clock import now_ns
from shm.pipeline_records import EVENT_LATE_TICK, STAGE_EXCHANGE_TO_RECV, STAGE_RECV_TO_POP

FILL_ROOM = 2 + 2 * 64  # rows one tick can close into a bar staging (two bars and their empty fill)


@numba.njit(cache=True)
def _slot(slot_of, symbol_of, exchange_of, n_slots, symbol_id, exchange_id) -> int:
    """The symbol's slot, assigned on first sight (-1: no room). Takes arrays, not the state
    tuple: passing a tuple of ~50 arrays costs ~100 atomic refcount updates per call."""
    if symbol_id >= slot_of.size:
        return -1
    slot = slot_of[symbol_id]
    if slot >= 0:
        return slot
    slot = n_slots[0]
    if slot >= symbol_of.size:
        return -1
    n_slots[0] = slot + 1
    slot_of[symbol_id] = slot
    symbol_of[slot] = symbol_id
    exchange_of[slot] = exchange_id
    return slot


@numba.njit(cache=True)
def _queue_closed_minutes(state, outputs, rows, first, last) -> None:
    """Copy closed 1 min bars ``rows[first:last]`` into the feature queue."""
    queued, ends = state.pending.bars, state.pending.ends
    for i in range(first, last):
        if ends[TAIL] - ends[HEAD] >= queued.size:  # full: the oldest waits no longer
            if nearly_full(outputs, FILL_ROOM):
                flush_all(outputs, state.histograms)
            _features_for_next(state, outputs)
        queued[ends[TAIL] % queued.size] = rows[i]
        ends[TAIL] += 1
    state.counters[K_PENDING_MAX] = max(state.counters[K_PENDING_MAX], ends[TAIL] - ends[HEAD])


@numba.njit(cache=True)
def fold_batch(batch, state, outputs, pop_ns, first_pos) -> None:
    """Fold one batch of ticks (TICK records) into bars, live state and outputs.

    ``first_pos``: the input ring position of ``batch[0]``, stamped on each
    published tick as ``source_pos`` (aggregator/main.py reads it back after a crash).
    """
    counts = outputs.counts
    smoothing = state.smoothing
    hist = state.histograms
    slot_of, symbol_of, exchange_of, n_slots = state.slot_of, state.symbol_of, state.exchange_of, state.n_slots
    room = staging_room(outputs)  # rows every staging array can take before a flush is needed
    book1s, book1m, live, counters = state.bars1s, state.bars1m, state.live, state.counters  # hoisted: once per batch
    bar_values_1s = book1s.values
    staged_ticks, staged_signals = outputs.ticks.staging, outputs.signals.staging
    staged_1s, staged_1m = outputs.bars1s.staging, outputs.bars1m.staging
    for i in range(batch.size):
        tick = batch[i]
        room -= 1
        if room < FILL_ROOM:
            flush_all(outputs, hist)
            room = staging_room(outputs)
        exchange = tick.exchange_id
        latency.record(hist, STAGE_EXCHANGE_TO_RECV, exchange, tick.ts_recv_ns - tick.ts_exchange_ns)
        latency.record(hist, STAGE_RECV_TO_POP, exchange, pop_ns - tick.ts_recv_ns)
        stamped = staged_ticks[counts[TICKS]]
        stamped.ts_exchange_ns = tick.ts_exchange_ns
        stamped.ts_recv_ns = tick.ts_recv_ns
        stamped.ts_pop_ns = pop_ns
        stamped.price = tick.price
        stamped.size = tick.size
        stamped.trade_id = tick.trade_id
        stamped.trade_id_lo = tick.trade_id_lo
        stamped.seq = tick.seq
        stamped.symbol_id = tick.symbol_id
        stamped.exchange_id = exchange
        stamped.side = tick.side
        stamped.flags = tick.flags
        stamped.source_pos = first_pos + i
        counts[TICKS] += 1
        counters[K_TICKS] += 1
        slot = _slot(slot_of, symbol_of, exchange_of, n_slots, tick.symbol_id, exchange)
        if slot < 0:
            counters[K_NO_SLOT] += 1
            continue
        before = counts[BARS1S]
        counts[BARS1S], late = bars.add_tick(book1s, slot, tick.symbol_id, tick.ts_exchange_ns, tick.ts_recv_ns,
                                             tick.price, tick.size, tick.side, staged_1s, counts[BARS1S], pop_ns)
        counters[K_BARS1S] += counts[BARS1S] - before
        room -= counts[BARS1S] - before
        before = counts[BARS1M]
        counts[BARS1M], late_minute = bars.add_tick(book1m, slot, tick.symbol_id, tick.ts_exchange_ns,
                                                    tick.ts_recv_ns, tick.price, tick.size, tick.side,
                                                    staged_1m, counts[BARS1M], pop_ns)
        if counts[BARS1M] > before:
            room -= counts[BARS1M] - before
            counters[K_BARS1M] += counts[BARS1M] - before
            _queue_closed_minutes(state, outputs, staged_1m, before, counts[BARS1M])
        if late or late_minute:
            state.late[exchange & (EXCHANGE_IDS - 1)] += 1
            counters[K_LATE] += 1
        signals.emit(staged_signals[counts[SIGNALS]], live, bar_values_1s, smoothing, slot, tick, pop_ns)
        counts[SIGNALS] += 1
    if batch.size:
        state.clock[C_NEXT_DUE] = 0  # a tick may have opened a bar: the next sweep looks at every slot again


@numba.njit(cache=True)
def _features_for_next(state, outputs) -> None:
    """Compute the feature row and regime of the oldest queued 1 min bar."""
    queued, ends = state.pending.bars, state.pending.ends
    bar = queued[ends[HEAD] % queued.size]
    ends[HEAD] += 1
    slot = state.slot_of[bar.symbol_id]
    if slot < 0:
        return
    row = state.feature_row
    update_features(state.features, slot, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.buy_volume,
                    bar.sell_volume, bar.vwap, bar.count, row)
    regime, score, realized_vol = update_regime(state.regime, slot, bar.close)
    state.live[slot].regime = regime
    state.counters[K_FEATURE_ROWS] += 1
    counts = outputs.counts
    out = outputs.features.staging[counts[FEATURES]]
    out.start_ns = bar.start_ns
    out.symbol_id = bar.symbol_id
    out.catalogue_version = CATALOGUE_VERSION
    out.values[:] = row
    counts[FEATURES] += 1
    reg = outputs.regime.staging[counts[REGIME]]
    reg.start_ns = bar.start_ns
    reg.symbol_id = bar.symbol_id
    reg.regime = regime
    reg.score = score
    reg.realized_vol = realized_vol
    reg.closed_ns = now_ns()
    counts[REGIME] += 1


@numba.njit(cache=True, inline="always")
def housekeeping_due(clock, ends, now, sweep_every_ns) -> bool:
    """Whether ``housekeeping`` has anything to do at ``now`` (``clock``: state.clock, ``ends``: the feature
    queue's): the poll loop asks this first, as calling it (the state and outputs, ~100 arrays, each an atomic
    reference count up and down) costs more than an idle turn does."""
    return ((now - clock[C_LAST_SWEEP] >= sweep_every_ns and now >= clock[C_NEXT_DUE]) or ends[TAIL] > ends[HEAD]
            or now - now % 1_000_000_000 > clock[C_SECOND])


@numba.njit(cache=True)
def housekeeping(state, outputs, now, feature_budget) -> int:
    """Wall-clock bar closes, up to ``feature_budget`` feature rows, per-second latency and late-tick rows.

    The bar sweep (every slot) runs at most every ``sweep_every_ns`` and, once it found nothing else due, not
    before the earliest open bar's close unless a tick came since (``fold_batch`` resets ``C_NEXT_DUE``).

    Returns the number of feature rows still queued.
    """
    counts = outputs.counts
    clock = state.clock
    if now - clock[C_LAST_SWEEP] >= state.sweep_every_ns and now >= clock[C_NEXT_DUE]:
        clock[C_LAST_SWEEP] = now
        next_due = bars.NEVER  # the earliest close left open: no sweep before it unless a tick comes (idle: cheap)
        for slot in range(state.n_slots[0]):
            if bars.due(state.bars1s, slot, now) or bars.due(state.bars1m, slot, now):
                if nearly_full(outputs, FILL_ROOM):
                    flush_all(outputs, state.histograms)
                symbol_id = state.symbol_of[slot]
                before = counts[BARS1S]
                counts[BARS1S] = bars.close_due(state.bars1s, slot, symbol_id, outputs.bars1s.staging, counts[BARS1S],
                                             now)
                state.counters[K_BARS1S] += counts[BARS1S] - before
                before = counts[BARS1M]
                counts[BARS1M] = bars.close_due(state.bars1m, slot, symbol_id, outputs.bars1m.staging, counts[BARS1M],
                                             now)
                if counts[BARS1M] > before:
                    state.counters[K_BARS1M] += counts[BARS1M] - before
                    _queue_closed_minutes(state, outputs, outputs.bars1m.staging, before, counts[BARS1M])
            next_due = min(next_due, bars.next_due(state.bars1s, slot), bars.next_due(state.bars1m, slot))
        clock[C_NEXT_DUE] = next_due
    ends = state.pending.ends
    done = 0
    while ends[TAIL] > ends[HEAD] and done < feature_budget:
        if nearly_full(outputs, FILL_ROOM):
            flush_all(outputs, state.histograms)
        _features_for_next(state, outputs)
        done += 1
    second = now - now % 1_000_000_000
    if second > clock[C_SECOND]:
        if clock[C_SECOND] > 0:
            if nearly_full(outputs, FILL_ROOM):
                flush_all(outputs, state.histograms)
            counts[LATENCY] += latency.summarise(state.histograms, state.latency_totals, clock[C_SECOND],
                                                 outputs.latency.staging, counts[LATENCY])
            for exchange in range(state.late.size):
                fresh = state.late[exchange] - state.late_reported[exchange]
                if fresh > 0:
                    event = outputs.events.staging[counts[EVENTS]]
                    event.ts_ns = now
                    event.exchange_id = exchange
                    event.kind = EVENT_LATE_TICK
                    event.symbol_id = 0
                    event.value = fresh
                    counts[EVENTS] += 1
                    state.late_reported[exchange] = state.late[exchange]
        clock[C_SECOND] = second
    return ends[TAIL] - ends[HEAD]
