"""The compiled staging loop (feeds/_stage.c) leaves exactly what the Python per-tick loop leaves.

The same frames (plain trade tuples, as the parsers build them) go through two TickWriters in the same batches,
one with the compiled loop and one without: the ring bytes, the counters, the gap callbacks, the writer's
per-symbol state and tick numbering must be the same. The frames carry what makes the compiled loop stop and
hand over to Python: new and unsubscribed symbols, gaps, repeats, implausible prices, sizes and times (NaN, inf,
negative), trade ids that are hashed or UUIDs, fields of other types or out of their record field's range, frames
over 64 trades, a staging area that fills.

``make test`` sets TICKAGG_REQUIRE_COMPILED=1: there the loop must have been built.
"""
from __future__ import annotations

import math
import os
import random
import uuid

import pytest
from tick_fakes import FixedDirectory, ListRing

from feeds.compiled import stage
from feeds.metrics import FeedMetrics
from feeds.plausible import Limits
from feeds.ticks import STAGING_TICKS, TickWriter
from feeds.trade import Trade

if stage is None:
    if os.environ.get("TICKAGG_REQUIRE_COMPILED") == "1":
        raise RuntimeError("feeds/_stage.c was not built: `pip install -e .` needs a C compiler and the Python headers")
    pytest.skip("the compiled staging loop is not built (pure Python only)", allow_module_level=True)

NOW = 1_700_000_000_000_000_000
SYMBOLS = ["AAA", "BBB", "CCC", "DDD"]


def _odd(rng: random.Random, trade: list) -> list:
    """One field of ``trade`` made unusual, in a way that matters to one of the loops' decisions."""
    field = rng.randrange(9)
    trade[field] = rng.choice({
        0: ["ZZZ", "aaa", 5, None],
        1: [math.nan, math.inf, -1.0, 0.0, 1e13, 3, True],
        2: [math.nan, -2.0, 0.0, 1e13, 2],
        3: [200, -129, 0, 1.0, True],
        4: [NOW - 10**16, NOW + 10**16, 2**63, float(NOW), -1],
        5: ["", "x7", str(uuid.uuid4()), str(uuid.uuid4()).upper(), "3b2d6d74-b858-2413-ec15-715b1e7a251g",
            "3b2d6d74b-858-2413-ec15-715b1e7a251c", "3b2d6d74-b858-2413-ec15-715b1e7a251c ", "1" * 21,
            "18446744073709551616", "٣", 7, None],
        6: [300, -1, 4, 1.0],
        7: [-1, 0, 1.5],  # (a seq past int64 would make every later trade of the symbol a repeat)
        8: [0, 2, 10**10, 1.0],
    }[field])
    return trade


def _frames(rng: random.Random, count: int, with_seq: bool) -> list[list[tuple]]:
    seqs = {symbol: rng.randrange(1, 1000) for symbol in SYMBOLS}
    frames = []
    for index in range(count):
        trades = []
        for _ in range(rng.choice([1, 1, 1, 2, 3, 5, 64, 65]) if index % 50 == 7 else rng.choice([1, 1, 2, 3])):
            symbol = rng.choice(SYMBOLS[:3]) if rng.random() < 0.97 else "DDD"  # DDD: not subscribed
            seqs[symbol] += rng.choice([1] * 30 + [0, 2, -3])  # mostly consecutive, now and then a repeat or a gap
            seq = seqs[symbol] if with_seq else -1
            trade = [symbol, rng.uniform(1, 100), rng.uniform(0.1, 2), rng.choice([1, -1]),
                     NOW + index * 1000 + rng.randrange(-5000, 5000), str(seqs[symbol]), 0, seq, 1]
            if rng.random() < 0.03:
                trade = _odd(rng, trade)
            trades.append(tuple(trade))
        frames.append(trades)
    return frames


def _stage(frames: list, compiled: bool, seq_is_trade_id: bool, chunks: list[int], limits: Limits) -> tuple:
    ring, metrics, gaps = ListRing(), FeedMetrics(), []
    writer = TickWriter("binance", ring, FixedDirectory(), metrics, SYMBOLS[:3], lambda *gap: gaps.append(gap),
                        seq_is_trade_id=seq_is_trade_id, limits=limits)
    calls = []
    if compiled:
        def counted(frames, start, *args):
            done = stage.stage(frames, start, *args)
            calls.append(done[0] - start)
            return done
        writer._compiled = counted
    else:
        writer._compiled = None
    start = 0
    for size in chunks:
        writer.add_frames(frames[start:start + size], NOW)
        if size % 3 == 0:
            writer.flush()
        start += size
    writer.flush()
    state = {symbol: list(known) for symbol, known in writer._symbols.items()}
    return b"".join(ring.pushed), dict(metrics.values), gaps, state, writer._seq, sum(calls)


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_loop_leaves_what_the_python_loop_leaves(seed: int) -> None:
    rng = random.Random(seed)
    with_seq, seq_is_trade_id = seed % 2 == 0, seed % 3 == 0
    frames = _frames(rng, 6000, with_seq)
    chunks = [rng.choice([1, 2, 7, 15, 60, 300, 2000]) for _ in range(400)]
    limits = Limits(behind_s=3600.0, ahead_s=5.0, max_price=1e12, max_size=1e12)
    compiled = _stage(frames, True, seq_is_trade_id, chunks, limits)
    python = _stage(frames, False, seq_is_trade_id, chunks, limits)
    assert compiled[:5] == python[:5]
    assert len(compiled[0]) > 64 * 5000 and compiled[1]["ticks"] > 5000
    assert compiled[5] > len(frames) / 3  # many frames went the compiled way (a tenth of the trades need a decision)
    if with_seq:
        assert compiled[2] and compiled[1]["duplicates"] > 0  # gaps and repeats were met (and left to Python)


def test_trades_as_named_tuples() -> None:
    """Trade values (a NamedTuple: tools and tests build them) are staged as plain tuples are."""
    rng = random.Random(21)
    frames = [[Trade(*trade) for trade in trades] for trades in _frames(rng, 3000, True)]
    chunks = [rng.choice([1, 15, 300]) for _ in range(400)]
    limits = Limits(behind_s=3600.0, ahead_s=5.0, max_price=1e12, max_size=1e12)
    compiled = _stage(frames, True, False, chunks, limits)
    assert compiled[:5] == _stage(frames, False, False, chunks, limits)[:5] and compiled[5] > len(frames) / 3


def test_no_limits_and_a_full_staging_area() -> None:
    """UNCHECKED-like bounds (inf as no bound) and frames that overflow the staging area between flushes."""
    rng = random.Random(9)
    frames = _frames(rng, 3 * STAGING_TICKS // 2, True)
    chunks = [len(frames)]
    limits = Limits(math.inf, math.inf, 0.0, math.inf, 0.0, math.inf)
    compiled = _stage(frames, True, False, chunks, limits)
    assert compiled[:5] == _stage(frames, False, False, chunks, limits)[:5]
    assert compiled[5] > 0


def test_what_it_declines_it_leaves_alone() -> None:
    """A frame whose third trade needs a decision: nothing of it is staged, no symbol state moves."""
    symbols = {"AAA": [3, 10, 5], "BBB": [5, -1, 5]}
    before = {symbol: list(known) for symbol, known in symbols.items()}
    staging = bytearray(64 * 16)
    frame = [("AAA", 1.0, 1.0, 1, NOW, "11", 0, 11, 1), ("BBB", 1.0, 1.0, -1, NOW, "4", 0, 4, 1),
             ("AAA", 1.0, 1.0, 1, NOW, "13", 0, 13, 1)]  # AAA skips 12: a gap
    bounds = (NOW - 10**12, NOW + 10**12, 0.0, 1e9, 0.0, 1e9)
    assert stage.stage([frame], 0, staging, 0, 100, NOW, 1, bounds, symbols, True, 16) == (0, 0, 100)
    assert symbols == before  # (records past ``count`` are scratch, as in the Python loop)
    assert stage.stage([frame[:2]], 0, staging, 0, 100, NOW, 1, bounds, symbols, True, 16) == (1, 2, 102)
    assert symbols == {"AAA": [3, 11, NOW], "BBB": [5, 4, NOW]}
    after = bytes(staging[:128])
    for odd in (("AAA", 1.0, 1.0, 1, NOW, "12", 0, 2**64, 1), ("AAA", 1.0, 1.0, 1, NOW, "x", 0, -1, 1),
                ["AAA", 1.0, 1.0, 1, NOW, "12", 0, 12, 1], ("AAA", 1, 1.0, 1, NOW, "12", 0, 12, 1)):
        assert stage.stage([[odd]], 0, staging, 2, 102, NOW, 1, bounds, symbols, False, 16) == (0, 2, 102)
    assert symbols == {"AAA": [3, 11, NOW], "BBB": [5, 4, NOW]} and bytes(staging[:128]) == after
