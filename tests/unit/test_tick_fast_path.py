"""A frame of one trade goes straight into the ring (``TickWriter.add_one``, ``Session.text``): the same bytes.

Each case writes the same trades or frames twice into real rings of a fresh
group: once by the fast path (``add_one``, one call per single-trade frame,
as the feed does after a read of one frame) and once by the general path (one
``add`` per frame, then ``flush``, as before), then compares the ring bytes,
the counters, the gap callbacks and the writer's per-symbol state. The trades
mix what the fast path takes with what it must hand on (gaps, repeats, replays,
implausible values, unknown, new and unhashable symbols, UUID and text ids,
values that do not fit a field), so both halves of ``add_one`` are compared.
"""
from __future__ import annotations

import random
import uuid

import numpy as np
import pytest
from samples import frames_of, sample_lines

from feeds.metrics import FeedMetrics
from feeds.plausible import UNCHECKED, Limits
from feeds.session import Session
from feeds.ticks import TickWriter
from feeds.trade import Trade
from feeds.venues import VENUES, venue
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory

NOW_NS = 1_800_000_000_000_000_000
SYMBOLS = ["AAA", "BBB", "CCC"]


def _writer(group: str, exchange: str, name: str, subscribed: list[str], limits: Limits, case: str = "upper",
            seq_is_trade_id: bool = False):
    ring = Ring(ring_name(group, name), PRODUCER, TICK, 1 << 12, numba=False)
    gaps: list = []
    writer = TickWriter(exchange, ring, SymbolDirectory(group), FeedMetrics(), subscribed,
                        lambda *gap: gaps.append(gap), seq_is_trade_id=seq_is_trade_id, limits=limits,
                        symbol_case=case)
    return writer, ring, gaps


def _ring_bytes(group: str, name: str) -> bytes:
    out = np.zeros(1 << 12, TICK)
    with Ring(ring_name(group, name), CONSUMER, TICK, numba=False) as ring:
        count = ring.pop_batch(out)
        ring.commit()
    return out[:count].tobytes()


def _state(group: str, name: str, writer: TickWriter, gaps: list) -> tuple:
    return _ring_bytes(group, name), writer.metrics.values, gaps, writer._symbols, writer._seq


def _trades(rng: random.Random, count: int, with_seq: bool, ids: str) -> list[Trade]:
    seqs = dict.fromkeys(SYMBOLS, 100)
    trades = []
    for index in range(count):
        symbol = rng.choice(SYMBOLS)
        odd = index % 23
        seqs[symbol] += rng.choice([0, 1, 1, 1, 3]) if odd == 1 else 1  # some repeats and gaps
        seq = seqs[symbol] if with_seq else -1
        trade_id = {"number": str(seq if with_seq else index), "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "text": f"T-{index}"}[ids]
        price, size, ts_ns, side = rng.uniform(1, 100), rng.uniform(0.1, 2), NOW_NS - rng.randrange(10**9), 1
        if odd == 3:
            price = rng.choice([0.0, 1e13, float("nan")])  # implausible
        elif odd == 5:
            ts_ns = NOW_NS + 3600 * 10**9  # an hour ahead: implausible
        elif odd == 7:
            symbol = rng.choice(["ZZZ", "aaa", ["AAA"]])  # not subscribed, another spelling, not text
        elif odd == 9:
            side = 7 if index % 2 else 1.5  # does not fit the record's side byte
        elif odd == 11:
            ts_ns = float(ts_ns)  # a float time: struct refuses it
        trades.append(Trade(symbol, price, size, side, ts_ns, trade_id, 0, seq))
    return trades


@pytest.mark.parametrize("exchange, with_seq, seq_is_trade_id, ids", [
    ("binance", True, True, "number"), ("okx", True, True, "number"), ("bybit", False, False, "text"),
    ("coinbase", True, False, "uuid"), ("kraken", False, False, "number"), ("deribit", True, False, "text"),
])
def test_add_one_writes_what_add_writes(group, exchange, with_seq, seq_is_trade_id, ids) -> None:
    trades = _trades(random.Random(exchange), 1500, with_seq, ids)
    fast, _, fast_gaps = _writer(group, exchange, "fast", SYMBOLS, Limits(), seq_is_trade_id=seq_is_trade_id)
    slow, _, slow_gaps = _writer(group, exchange, "slow", SYMBOLS, Limits(), seq_is_trade_id=seq_is_trade_id)
    pushed = []
    push = fast._push
    fast._push = lambda fields: pushed.append(push(fields)) or pushed[-1]  # count the direct pushes
    for trade in trades:
        fast.add_one(trade, NOW_NS)
        fast.flush()  # the feed loop flushes after every read (a no-op after a direct push)
        slow.add([trade], NOW_NS)
        slow.flush()
    assert _state(group, "fast", fast, fast_gaps) == _state(group, "slow", slow, slow_gaps)
    assert len(pushed) > len(trades) // 2  # most went the direct way
    values = fast.metrics.values
    assert values["errors"] > 0 and (values["duplicates"] + values["gaps"] > 0 or not with_seq)  # and some did not


def test_add_one_counts_a_full_ring_as_add_does(group) -> None:
    trades = [Trade("AAA", 10.0, 1.0, 1, NOW_NS, str(n), 0, n) for n in range(1, 5000)]  # more than the ring holds
    fast, fast_ring, fast_gaps = _writer(group, "binance", "fast", SYMBOLS, Limits(), seq_is_trade_id=True)
    slow, slow_ring, slow_gaps = _writer(group, "binance", "slow", SYMBOLS, Limits(), seq_is_trade_id=True)
    for trade in trades:
        fast.add_one(trade, NOW_NS)
        fast.flush()
        slow.add([trade], NOW_NS)
        slow.flush()
    assert fast.metrics.values["ring_dropped"] == len(trades) - (1 << 12)
    assert (fast_ring.head, fast_ring.dropped) == (slow_ring.head, slow_ring.dropped) == (1 << 12, len(trades) - (1 << 12))
    assert _state(group, "fast", fast, fast_gaps) == _state(group, "slow", slow, slow_gaps)


class _Connection:
    def send_text(self, text: str) -> None:
        pass


class _Quiet:
    def warning(self, *args) -> None:
        pass

    def emit(self, *args, **kwargs) -> None:
        pass


def _parsed(parser, frame: str) -> list[Trade]:
    try:
        return parser.parse(frame)
    except ValueError:  # a recorded error frame
        return []


@pytest.mark.parametrize("name", sorted(VENUES))
def test_session_text_writes_what_the_general_path_writes(group, name) -> None:
    """Every venue's recorded frames, one read each, through ``Session.text``: straight into the ring, and with
    the writer's direct path switched off (every trade staged, then flushed with numpy, as before)."""
    module = venue(name)
    frames = [frame for sample in sample_lines(name) for frame in frames_of(sample)]
    parser = module.Parser()  # one for all frames: Bitfinex's channels are subscribed by earlier frames
    symbols = {trade[0] for frame in frames for trade in _parsed(parser, frame) if type(trade[0]) is str}  # symbol
    states = []
    for path in ("fast", "slow"):
        # the recorded times are old: no plausibility rules in this comparison
        writer, _, gaps = _writer(group, name, path, sorted(symbols), UNCHECKED, module.SYMBOL_CASE,
                                  module.SEQ_IS_TRADE_ID)
        if path == "slow":
            writer._push = writer._push_bytes = None  # the direct path off; flushed by push_batch (numpy)
        session = Session(module, "ws://test", sorted(symbols), writer, writer.metrics, _Quiet(), _Quiet(), 60.0,
                          True, connection=_Connection())
        for number, frame in enumerate(frames * 3):  # again and again: repeats of the same sequence numbers
            session.recv_ns = NOW_NS + number
            session.text(bytearray(frame.encode()))
            writer.flush()
        states.append(_state(group, path, writer, gaps))
    assert states[0][0], f"{name}: no ticks written"
    assert states[0] == states[1]
