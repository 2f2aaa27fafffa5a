"""The column stager (feeds/tick_columns.py) leaves exactly what the per-tick loop leaves.

Each case stages the same frames twice: one ``add`` per frame (always the
loop) and one ``add_frames`` per batch (columns when nothing needs a decision),
then compares the ring bytes, the counters, the gap callbacks and the writer's
per-symbol state.
"""
from __future__ import annotations

import random
import uuid

import numpy as np
import pytest
from tick_fakes import FixedDirectory, ListRing

from feeds.metrics import FeedMetrics
from feeds.ticks import TickWriter
from feeds.trade import Trade
from shm.records import FLAG_SNAPSHOT, FLAG_TRADE_UUID, TICK, trade_id_text


def _frames(rng: random.Random, count: int, with_seq: bool, gap_every: int) -> list[list[Trade]]:
    seqs = {"AAA": 10, "BBB": 2000, "CCC": 7}
    frames = []
    for index in range(count):
        symbol = rng.choice(["AAA", "BBB", "CCC", "ZZZ"] if index % 997 == 5 else ["AAA", "BBB", "CCC"])
        seqs[symbol] = seqs.get(symbol, 0) + (rng.choice([0, 3]) if gap_every and index % gap_every == 1 else 1)
        seq = seqs[symbol] if with_seq else -1
        trade_id = str(seq) if with_seq else f"x{index}"
        frames.append([Trade(symbol, rng.uniform(1, 100), rng.uniform(0.1, 2), rng.choice([1, -1, 0]),
                             1_700_000_000_000_000_000 + index * 1000, trade_id, rng.choice([0, FLAG_SNAPSHOT]), seq)])
    return frames


def _stage(frames: list[list[Trade]], batch: bool, seq_is_trade_id: bool, chunk: int = 600):
    ring, metrics, gaps = ListRing(), FeedMetrics(), []
    writer = TickWriter("binance", ring, FixedDirectory(), metrics, ["AAA", "BBB", "CCC"],
                        lambda *gap: gaps.append(gap), seq_is_trade_id=seq_is_trade_id)
    writer._compiled = None  # the columns and the loop, as without feeds/_stage.c (tests/unit/test_compiled_stage.py)
    for start in range(0, len(frames), chunk):
        if batch:
            writer.add_frames(frames[start:start + chunk], start)
        else:
            for frame in frames[start:start + chunk]:
                writer.add(frame, start)
        writer.flush()
    return ring.pushed, metrics.values, gaps, writer._symbols, writer._seq


@pytest.mark.parametrize("with_seq, seq_is_trade_id, gap_every", [
    (True, True, 0), (True, False, 0), (False, False, 0), (True, True, 1500), (True, True, 7),
])
def test_columns_match_the_loop(with_seq: bool, seq_is_trade_id: bool, gap_every: int) -> None:
    frames = _frames(random.Random(len(str((with_seq, seq_is_trade_id, gap_every)))), 6000, with_seq, gap_every)
    assert _stage(frames, True, seq_is_trade_id) == _stage(frames, False, seq_is_trade_id)


@pytest.mark.parametrize("batch", [False, True], ids=["add", "add_frames"])
def test_a_symbol_that_is_not_text_is_counted_and_the_rest_staged(batch) -> None:
    frames = [[Trade(symbol, 1.0, 1.0, 1, 1_700_000_000_000_000_000 + i, str(i), 0, -1)]
              for i, symbol in enumerate(["AAA", ["AAA"], 17, {"s": 1}, None, "BBB"] * 60)]
    pushed, values, _, _, _ = _stage(frames, batch, False)
    assert values["ticks"] == 120 and values["err_unknown_symbol"] == 240
    assert sum(len(p) for p in pushed) == 120 * 64


def test_a_frame_larger_than_the_staging_area_is_staged_whole() -> None:
    from feeds.ticks import STAGING_TICKS

    n = 2 * STAGING_TICKS + 123
    frame = [Trade("AAA", 1.0 + i, 1.0, 1, 1_700_000_000_000_000_000 + i, str(i + 1), 0, i + 1) for i in range(n)]
    small = [[Trade("BBB", 2.0, 1.0, -1, 1_700_000_000_000_000_000, "1", 0, 1)]]
    pushed, values, gaps, symbols, seq = _stage(small + [frame] + small, True, True, chunk=3)
    assert values["ticks"] == n + 1 and values["duplicates"] == 1 and not gaps
    records = b"".join(pushed)
    assert len(records) == (n + 1) * 64 and seq == 1000 + n + 1
    assert symbols["AAA"][1] == n


@pytest.mark.parametrize("batch", [False, True], ids=["add", "add_frames"])
def test_uuid_trade_ids_are_kept_exactly(batch) -> None:
    ids = [str(uuid) for uuid in _uuids(600)] + ["x-not-a-uuid", "12345678-1234-1234-1234-12345678901g", "77"]
    frames = [[Trade("AAA", 1.0, 1.0, 1, 1_700_000_000_000_000_000 + i, text, 0, -1)] for i, text in enumerate(ids)]
    pushed, values, _, _, _ = _stage(frames, batch, False, chunk=len(frames))
    ticks = np.frombuffer(b"".join(pushed), TICK)
    assert values["ticks"] == len(ids)
    printed = [trade_id_text(t["trade_id"], t["trade_id_lo"], t["flags"]) for t in ticks]
    assert printed[:600] == ids[:600] and (ticks["flags"][:600] == FLAG_TRADE_UUID).all()
    assert printed[-1] == "77" and not (ticks["flags"][600:] & FLAG_TRADE_UUID).any()
    assert (ticks["trade_id_lo"][600:] == 0).all()  # other text: a hash in trade_id alone
    assert len(set(printed[600:602])) == 2 and all(p.isdigit() for p in printed[600:602])


def _uuids(count: int):
    rng = random.Random(5)
    return [uuid.UUID(int=rng.getrandbits(128)) for _ in range(count)]
