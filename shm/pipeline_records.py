"""Record dtypes of the aggregator's output rings (the contracts between stages).

All sizes are multiples of 8 bytes; the layouts are drawn as offsets in the
comments. Times are ns since the epoch (``time.time_ns()`` clock, also
``shm.clock.now_ns()`` in kernels). Prices are floats; NaN means undefined.
"""
from __future__ import annotations

import numpy as np

# event kinds, re-exported: defined in shm/event_kinds.py, without NumPy (a feed emits them)
from shm.event_kinds import (EVENT_CONNECT, EVENT_DISCONNECT, EVENT_GAP, EVENT_LATE_TICK, EVENT_NAMES,  # noqa: F401
                             EVENT_PARSE_ERROR, EVENT_RECONNECT_DELAY, EVENT_RING_DROP, EVENT_SUBSCRIBED,
                             EVENT_VENUE_ERROR)

FEATURE_COUNT = 1400  # length of every feature vector (aggregator/features catalogue)

# Tick as stored: the feed's tick plus the aggregator's stamps (88 bytes; the 80-byte one before: shm/layouts.py).
#
#   0               8               16              24              32
#   +---------------+---------------+---------------+---------------+
#   | ts_exchange_ns| ts_recv_ns    | ts_pop_ns     | ts_signal_ns  |
#   +---------------+---------------+---------------+---------------+
#   | price         | size          | trade_id      | seq           |
#   +-------+---+-+-+---------------+---------------+---------------+
#   |sym_id |exc|s|f| source_pos    | trade_id_lo   |
#   +-------+---+-+-+---------------+---------------+
#   64     68  70 71 72             80              88
STAMPED_TICK = np.dtype(
    [
        ("ts_exchange_ns", "<i8"),  # 0
        ("ts_recv_ns", "<i8"),  # 8   feed received the frame
        ("ts_pop_ns", "<i8"),  # 16  aggregator popped it
        ("ts_signal_ns", "<i8"),  # 24  its signal record was published
        ("price", "<f8"),  # 32
        ("size", "<f8"),  # 40
        ("trade_id", "<u8"),  # 48
        ("seq", "<u8"),  # 56
        ("symbol_id", "<u4"),  # 64
        ("exchange_id", "<u2"),  # 68
        ("side", "i1"),  # 70
        ("flags", "u1"),  # 71
        ("source_pos", "<u8"),  # 72  position in its feed ring: a restarted aggregator skips what it published
        ("trade_id_lo", "<u8"),  # 80  a UUID trade id's last 64 bits (flags & FLAG_TRADE_UUID), else 0
    ]
)

# One OHLCV bar of one symbol; the same dtype for 1 s and 1 min bars (128 bytes).
BAR = np.dtype(
    [
        ("start_ns", "<i8"),  # 0   interval start, by exchange time
        ("symbol_id", "<u4"),  # 8
        ("interval_s", "<u4"),  # 12  1 or 60
        ("open", "<f8"),  # 16
        ("high", "<f8"),  # 24
        ("low", "<f8"),  # 32
        ("close", "<f8"),  # 40
        ("volume", "<f8"),  # 48
        ("buy_volume", "<f8"),  # 56
        ("sell_volume", "<f8"),  # 64
        ("vwap", "<f8"),  # 72
        ("count", "<u8"),  # 80  trades in the bar (0: an empty interval, prices carry the last close)
        ("first_recv_ns", "<i8"),  # 88
        ("last_recv_ns", "<i8"),  # 96
        ("closed_ns", "<i8"),  # 104 when the aggregator closed it
        ("late_ticks", "<u4"),  # 112 ticks for already closed bars of this symbol seen while this one was open
        ("flags", "<u4"),  # 116
        ("reserved", "<u8"),  # 120
    ]
)

# The feature vector of one symbol at one 1 min bar close (16 + 8 * FEATURE_COUNT bytes).
FEATURE_ROW = np.dtype(
    [
        ("start_ns", "<i8"),  # 0   the 1 min bar's start
        ("symbol_id", "<u4"),  # 8
        ("catalogue_version", "<u4"),  # 12
        ("values", "<f8", (FEATURE_COUNT,)),  # 16
    ]
)

# Regime signal of one symbol at one 1 min bar close (40 bytes).
REGIME = np.dtype(
    [
        ("start_ns", "<i8"),  # 0
        ("symbol_id", "<u4"),  # 8
        ("regime", "i1"),  # 12  0 calm, 1 normal, 2 turbulent (aggregator/regime.py)
        ("pad", "u1", (3,)),  # 13
        ("score", "<f8"),  # 16  model output behind the regime (e.g. P(turbulent))
        ("realized_vol", "<f8"),  # 24
        ("closed_ns", "<i8"),  # 32
    ]
)

# Per-tick signal for downstream strategies (80 bytes).
SIGNAL = np.dtype(
    [
        ("ts_recv_ns", "<i8"),  # 0
        ("ts_signal_ns", "<i8"),  # 8
        ("symbol_id", "<u4"),  # 16
        ("exchange_id", "<u2"),  # 20
        ("regime", "i1"),  # 22
        ("side", "i1"),  # 23
        ("price", "<f8"),  # 24
        ("ema_fast", "<f8"),  # 32  tick-level EMA of price
        ("ema_slow", "<f8"),  # 40
        ("signed_volume_ema", "<f8"),  # 48
        ("trade_imbalance", "<f8"),  # 56  (buy - sell) / (buy + sell) volume, EMA
        ("bar_vwap", "<f8"),  # 64  VWAP of the 1 s bar in progress
        ("ts_pop_ns", "<i8"),  # 72  when the aggregator popped the tick
    ]
)

# Latency stages: the ``stage`` of a LATENCY row, from one stamp to another. "Tick" means the
# moment the feed received it (ts_recv_ns): the exchange's clock is not ours, so only stage 0
# uses it. A stored number keeps its meaning; a new measurement gets a new number.
#
#   stage  name              from                     to                                 measured in
#   0      exchange_to_recv  ts_exchange_ns           ts_recv_ns                         aggregator/fold.py
#   1      recv_to_pop       ts_recv_ns               ts_pop_ns (aggregator popped it)   aggregator/fold.py
#   2      pop_to_signal     ts_pop_ns                ts_signal_ns (signal published)    aggregator/outputs.py
#   3      tick_to_signal    ts_recv_ns               ts_signal_ns                       aggregator/outputs.py
#   4      tick_to_store     ts_recv_ns               the store acknowledged its batch   writer/writer.py
#
# (Stage 4 was named STAGE_SIGNAL_TO_STORE in code; it always measured from ts_recv_ns.)
STAGE_EXCHANGE_TO_RECV, STAGE_RECV_TO_POP, STAGE_POP_TO_SIGNAL, STAGE_TICK_TO_SIGNAL, STAGE_TICK_TO_STORE = range(5)
STAGE_NAMES = ("exchange_to_recv", "recv_to_pop", "pop_to_signal", "tick_to_signal", "tick_to_store")

# One latency summary: one stage, one venue, one second (64 bytes). Values in ns.
LATENCY = np.dtype(
    [
        ("second_ns", "<i8"),  # 0   start of the second
        ("stage", "<u2"),  # 8   STAGE_*
        ("exchange_id", "<u2"),  # 10
        ("pad", "<u4"),  # 12
        ("count", "<u8"),  # 16
        ("p50", "<f8"),  # 24
        ("p90", "<f8"),  # 32
        ("p99", "<f8"),  # 40
        ("p999", "<f8"),  # 48
        ("max", "<f8"),  # 56
    ]
)

# A feed or aggregator event (128 bytes): connects, disconnects with reason, gaps...
EVENT = np.dtype(
    [
        ("ts_ns", "<i8"),  # 0
        ("exchange_id", "<u2"),  # 8
        ("kind", "<u2"),  # 10  EVENT_*
        ("symbol_id", "<u4"),  # 12  0 when not about one symbol
        ("value", "<i8"),  # 16  kind-specific: gap size, delay ns, error count...
        ("detail", "S104"),  # 24  UTF-8 text, e.g. the disconnect reason
    ]
)

for _dtype in (STAMPED_TICK, BAR, FEATURE_ROW, REGIME, SIGNAL, LATENCY, EVENT):
    assert _dtype.itemsize % 8 == 0, _dtype
