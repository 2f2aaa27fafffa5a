"""The per-batch fold, in Numba: ticks in; stamped ticks, bars, signals, features, latency out.

``fold_batch`` handles one popped batch of one feed ring; ``housekeeping`` runs
once per loop turn (wall-clock bar closes, feature work, the per-second
latency rows and late-tick events). Feature vectors are computed from a queue
of closed 1 min bars a few at a time, so a minute boundary with thousands of
symbols never holds up the ticks behind it.
"""
from __future__ import annotations

import numba
import numpy as np

from aggregator import bars, latency
from aggregator.agg_state import (
    C_LAST_SWEEP, C_SECOND, C_SWEEP_EVERY, K_BARS1M, K_BARS1S, K_FEATURE_ROWS, K_LATE, K_NO_SLOT,
    K_PENDING_MAX, K_TICKS, L_BUY_VOLUME, L_EMA_FAST, L_EMA_SLOW, L_REGIME, L_SELL_VOLUME, L_SIGNED_VOLUME,
    L_TICKS, P_ALPHA_FAST, P_ALPHA_SLOW, P_ALPHA_VOLUME,
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
    pending, ends = state.pending, state.pending_ends
    for i in range(first, last):
        if ends[1] - ends[0] >= pending.size:  # full: the oldest waits no longer
            if nearly_full(outputs, FILL_ROOM):
                flush_all(outputs, state.histograms)
            _features_for_next(state, outputs)
        pending[ends[1] % pending.size] = rows[i]
        ends[1] += 1
    state.counters[K_PENDING_MAX] = max(state.counters[K_PENDING_MAX], ends[1] - ends[0])


@numba.njit(cache=True)
def fold_batch(batch, state, outputs, pop_ns, first_pos) -> None:
    """Fold one batch of ticks (TICK records) into bars, live state and outputs.

    ``first_pos``: the input ring position of ``batch[0]``, stamped on each
    published tick as ``source_pos`` (aggregator/main.py reads it back after a crash).
    """
    counts = outputs.counts
    alpha_fast, alpha_slow, alpha_volume = state.params[P_ALPHA_FAST], state.params[P_ALPHA_SLOW], state.params[P_ALPHA_VOLUME]
    hist = state.histograms
    slot_of, symbol_of, exchange_of, n_slots = state.slot_of, state.symbol_of, state.exchange_of, state.n_slots
    room = staging_room(outputs)  # rows every staging array can take before a flush is needed
    book1s, book1m, live, counters = state.bars1s, state.bars1m, state.live, state.counters  # hoisted: once per batch
    staged_ticks, staged_signals, staged_1s, staged_1m = outputs.ticks[2], outputs.signals[2], outputs.bars1s[2], outputs.bars1m[2]
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
            state.late[exchange & 15] += 1
            counters[K_LATE] += 1
        # live: direct [slot, field] indexing, no per-tick sub-array views
        price, size, side = tick.price, tick.size, tick.side
        if live[slot, L_TICKS] == 0:
            live[slot, L_EMA_FAST] = price
            live[slot, L_EMA_SLOW] = price
        else:
            live[slot, L_EMA_FAST] += alpha_fast * (price - live[slot, L_EMA_FAST])
            live[slot, L_EMA_SLOW] += alpha_slow * (price - live[slot, L_EMA_SLOW])
        live[slot, L_TICKS] += 1
        live[slot, L_SIGNED_VOLUME] += alpha_volume * (side * size - live[slot, L_SIGNED_VOLUME])
        live[slot, L_BUY_VOLUME] += alpha_volume * ((size if side > 0 else 0.0) - live[slot, L_BUY_VOLUME])
        live[slot, L_SELL_VOLUME] += alpha_volume * ((size if side < 0 else 0.0) - live[slot, L_SELL_VOLUME])
        traded = live[slot, L_BUY_VOLUME] + live[slot, L_SELL_VOLUME]
        signal = staged_signals[counts[SIGNALS]]
        signal.ts_recv_ns = tick.ts_recv_ns
        signal.ts_pop_ns = pop_ns
        signal.symbol_id = tick.symbol_id
        signal.exchange_id = exchange
        signal.regime = np.int8(live[slot, L_REGIME])
        signal.side = side
        signal.price = price
        signal.ema_fast = live[slot, L_EMA_FAST]
        signal.ema_slow = live[slot, L_EMA_SLOW]
        signal.signed_volume_ema = live[slot, L_SIGNED_VOLUME]
        signal.trade_imbalance = (live[slot, L_BUY_VOLUME] - live[slot, L_SELL_VOLUME]) / traded if traded > 0.0 else np.nan
        volume = book1s.values[slot, 1, bars.VOLUME]
        signal.bar_vwap = book1s.values[slot, 1, bars.PV] / volume if volume > 0.0 else np.nan
        counts[SIGNALS] += 1


@numba.njit(cache=True)
def _features_for_next(state, outputs) -> None:
    """Compute the feature row and regime of the oldest queued 1 min bar."""
    ends = state.pending_ends
    bar = state.pending[ends[0] % state.pending.size]
    ends[0] += 1
    slot = state.slot_of[bar.symbol_id]
    if slot < 0:
        return
    row = state.feature_row
    update_features(state.features, slot, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.buy_volume,
                    bar.sell_volume, bar.vwap, bar.count, row)
    regime, score, realized_vol = update_regime(state.regime, slot, bar.close)
    state.live[slot, L_REGIME] = regime
    state.counters[K_FEATURE_ROWS] += 1
    counts = outputs.counts
    out = outputs.features[2][counts[FEATURES]]
    out.start_ns = bar.start_ns
    out.symbol_id = bar.symbol_id
    out.catalogue_version = CATALOGUE_VERSION
    out.values[:] = row
    counts[FEATURES] += 1
    reg = outputs.regime[2][counts[REGIME]]
    reg.start_ns = bar.start_ns
    reg.symbol_id = bar.symbol_id
    reg.regime = regime
    reg.score = score
    reg.realized_vol = realized_vol
    reg.closed_ns = now_ns()
    counts[REGIME] += 1


@numba.njit(cache=True)
def housekeeping(state, outputs, now, feature_budget) -> int:
    """Wall-clock bar closes, up to ``feature_budget`` feature rows, per-second latency and late-tick rows.

    Returns the number of feature rows still queued.
    """
    counts = outputs.counts
    clock = state.clock
    if now - clock[C_LAST_SWEEP] >= clock[C_SWEEP_EVERY]:
        clock[C_LAST_SWEEP] = now
        for slot in range(state.n_slots[0]):
            if bars.due(state.bars1s, slot, now) or bars.due(state.bars1m, slot, now):
                if nearly_full(outputs, FILL_ROOM):
                    flush_all(outputs, state.histograms)
                symbol_id = state.symbol_of[slot]
                before = counts[BARS1S]
                counts[BARS1S] = bars.close_due(state.bars1s, slot, symbol_id, outputs.bars1s[2], counts[BARS1S], now)
                state.counters[K_BARS1S] += counts[BARS1S] - before
                before = counts[BARS1M]
                counts[BARS1M] = bars.close_due(state.bars1m, slot, symbol_id, outputs.bars1m[2], counts[BARS1M], now)
                if counts[BARS1M] > before:
                    state.counters[K_BARS1M] += counts[BARS1M] - before
                    _queue_closed_minutes(state, outputs, outputs.bars1m[2], before, counts[BARS1M])
    ends = state.pending_ends
    done = 0
    while ends[1] > ends[0] and done < feature_budget:
        if nearly_full(outputs, FILL_ROOM):
            flush_all(outputs, state.histograms)
        _features_for_next(state, outputs)
        done += 1
    second = now - now % 1_000_000_000
    if second > clock[C_SECOND]:
        if clock[C_SECOND] > 0:
            if nearly_full(outputs, FILL_ROOM):
                flush_all(outputs, state.histograms)
            counts[LATENCY] += latency.summarise(state.histograms, clock[C_SECOND], outputs.latency[2], counts[LATENCY])
            for exchange in range(state.late.size):
                fresh = state.late[exchange] - state.late_reported[exchange]
                if fresh > 0:
                    event = outputs.events[2][counts[EVENTS]]
                    event.ts_ns = now
                    event.exchange_id = exchange
                    event.kind = EVENT_LATE_TICK
                    event.symbol_id = 0
                    event.value = fresh
                    counts[EVENTS] += 1
                    state.late_reported[exchange] = state.late[exchange]
        clock[C_SECOND] = second
    return ends[1] - ends[0]
