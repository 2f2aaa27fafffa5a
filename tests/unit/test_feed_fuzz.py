"""Mutated frames through each venue's parser and the real feed frame handling (Session.texts ->
TickWriter, per-tick loop and column path), in-process: nothing escapes, nothing implausible is staged.

``TICKAGG_FUZZ_FRAMES`` sets the mutated frames per venue (default 2,000 in ``make test``); the long
run, 10^5 per venue (about 30 s a venue), is marked ``slow`` and runs only with ``TICKAGG_FUZZ_LONG=1``
(the unit tier stays under a minute). Sources: the recorded samples (tests/support/exchange_samples) and frames
rendered by the simulator's own templates, every sample symbol subscribed so mutations reach the writer.
A venue's other protocols (``fuzz.VARIANTS``: Coinbase Advanced Trade) run under their own key, from
simulator frames only (live updates and snapshots).
"""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from fuzz import VARIANTS, Mutator, exchange_of, feed_module, good_frames, offline_session, poison_frames
from samples import frames_of, sample_lines

from feeds.plausible import Limits
from feeds.trade import FrameError
from feeds.venues import VENUES
from shm.records import EXCHANGE_IDS

FRAMES = int(os.environ.get("TICKAGG_FUZZ_FRAMES", "2000"))
LONG = os.environ.get("TICKAGG_FUZZ_LONG") == "1"
KEYS = sorted(VENUES) + list(VARIANTS)  # every venue, then its other protocols (Coinbase Advanced Trade)


def _sources(name: str, now_ns: int) -> tuple[list[str], list[bytes], list[str], int]:
    """(setup frames, frames to mutate, symbols to subscribe, oldest exchange time among them)."""
    setup, good, symbol, _ = good_frames(name, 200, now_ns)
    samples = sample_lines(name) if name in VENUES else []  # recorded samples exist for the default protocols
    frames = [frame.encode() for sample in samples for frame in frames_of(sample)]
    if name not in VENUES:  # Coinbase Advanced Trade: snapshot events too (replays), made from live ones
        frames += [frame.replace(b'"type":"update"', b'"type":"snapshot"') for frame in good[:50]]
    symbols = {symbol} | {tick["symbol"] for sample in samples for tick in sample["expected"]}
    oldest = min([tick["ts_ns"] for sample in samples for tick in sample["expected"]] + [now_ns])
    return setup, good + frames, sorted(symbols), oldest


def fuzz(name: str, count: int, seed: int) -> dict:
    """``count`` mutated frames of venue ``name`` through parser and writer; returns what happened.
    ``deaths``: exceptions out of Session.texts (a feed process would die); ``tracebacks``: exceptions
    other than FrameError out of the parser alone (what ``tickagg parse`` would have died of)."""
    now_ns = time.time_ns()
    setup, frames, symbols, oldest = _sources(name, now_ns)
    limits = Limits(behind_s=(now_ns - oldest) / 1e9 + 60.0)
    session = offline_session(name, symbols, limits)
    parser = feed_module(name).Parser()
    for frame in setup:
        session.texts([bytearray(frame.encode())])
        parser.parse(frame)
    mutator = Mutator(seed)
    deaths, tracebacks, sent = [], [], 0
    while sent < count:
        batch = [mutator.mutate(mutator.rng.choice(frames)) for _ in range(mutator.rng.choice((1, 7, 60, 300)))]
        sent += len(batch)
        for frame in batch:
            try:
                parser.parse(frame)
            except FrameError:
                pass
            except Exception as exc:  # noqa: BLE001 - counted: must stay 0
                tracebacks.append((frame[:200], repr(exc)[:200]))
            parser.replies.clear()
            parser.replayed.clear()
        session.recv_ns = now_ns
        try:
            session.texts([bytearray(frame) for frame in batch])
        except Exception as exc:  # noqa: BLE001 - counted: must stay 0
            deaths.append((batch[:3], repr(exc)[:200]))
        session.writer.flush()
    ticks = session.writer.ring.records()
    values = session.metrics.values
    return {"sent": sent, "deaths": deaths, "tracebacks": tracebacks, "ticks": ticks, "values": values,
            "bounds": limits.bounds(now_ns), "limits": limits}


def _check(name: str, result: dict) -> None:
    assert not result["deaths"], f"{len(result['deaths'])} batches escaped Session.texts: {result['deaths'][:3]}"
    assert not result["tracebacks"], f"{len(result['tracebacks'])} parser tracebacks: {result['tracebacks'][:3]}"
    ticks, values = result["ticks"], result["values"]
    oldest, newest, min_price, max_price, min_size, max_size = result["bounds"]
    assert values["ticks"] == len(ticks) > 0
    assert values["errors"] > result["sent"] // 4  # most mutations are refused, and every refusal is counted
    assert (ticks["ts_exchange_ns"] >= oldest).all() and (ticks["ts_exchange_ns"] <= newest).all()
    assert ((ticks["price"] >= min_price) & (ticks["price"] <= max_price)).all()
    assert ((ticks["size"] >= min_size) & (ticks["size"] <= max_size)).all()
    assert (ticks["exchange_id"] == EXCHANGE_IDS[exchange_of(name)]).all() and (ticks["symbol_id"] > 0).all()
    np.testing.assert_array_equal(ticks["seq"], np.arange(len(ticks)))  # the feed's counter: no hole, no repeat


@pytest.mark.parametrize("name", KEYS)
def test_mutated_frames_never_escape(name: str) -> None:
    _check(name, fuzz(name, FRAMES, seed=KEYS.index(name)))


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="the 10^5-frame run: set TICKAGG_FUZZ_LONG=1")
@pytest.mark.parametrize("name", KEYS)
def test_a_hundred_thousand_mutated_frames_per_venue(name: str) -> None:
    result = fuzz(name, 100_000, seed=1000 + KEYS.index(name))
    print(f"\n{name}: {result['sent']} mutated frames, {len(result['deaths'])} deaths, "
          f"{len(result['tracebacks'])} parse tracebacks, {len(result['ticks'])} ticks, "
          f"{result['values']['errors']} errors counted")
    _check(name, result)


@pytest.mark.parametrize("name", KEYS)
def test_poison_among_good_frames_costs_only_the_poison(name: str) -> None:
    """The issue's killers interleaved with 600 good frames, handed over as one run (so the column path
    is offered it first): every good trade is staged, in order, and nothing implausible is."""
    now_ns = time.time_ns()
    setup, good, symbol, trades = good_frames(name, 600, now_ns)
    poison = poison_frames(name, good[0], symbol)
    assert len(poison) >= 10
    session = offline_session(name, [symbol], Limits())
    for frame in setup:
        session.texts([bytearray(frame.encode())])
    stream = list(good)
    for index, frame in enumerate(poison):
        stream.insert(1 + index * (len(good) // len(poison)), frame)
    session.recv_ns = now_ns
    session.texts([bytearray(frame) for frame in stream])
    session.writer.flush()
    ticks, values = session.writer.ring.records(), session.metrics.values
    parser = feed_module(name).Parser()
    for frame in setup:
        parser.parse(frame)
    wanted = [trade for frame in good for trade in parser.parse(frame)]
    assert len(wanted) == trades
    staged_ids = {int(t) for t in ticks["trade_id"]}
    good_ids = [tick["trade_id"] for tick in _ticks_of(session, name, symbol, good, now_ns)]
    assert set(good_ids) <= staged_ids, "a good trade was lost among the poison"
    assert values["errors"] >= len(poison) // 2
    bounds = Limits().bounds(now_ns)
    assert (ticks["ts_exchange_ns"] >= bounds[0]).all() and (ticks["ts_exchange_ns"] <= bounds[1]).all()
    assert ((ticks["price"] >= bounds[2]) & (ticks["price"] <= bounds[3])).all()
    assert ((ticks["size"] >= bounds[4]) & (ticks["size"] <= bounds[5])).all()


def _ticks_of(poisoned_session, name: str, symbol: str, good: list[bytes], now_ns: int) -> np.ndarray:
    """The ticks the good frames alone give (a fresh session, no poison)."""
    setup, _, _, _ = good_frames(name, 1, now_ns)
    clean = offline_session(name, [symbol], Limits())
    for frame in setup:
        clean.texts([bytearray(frame.encode())])
    clean.recv_ns = now_ns
    clean.texts([bytearray(frame) for frame in good])
    clean.writer.flush()
    records = clean.writer.ring.records()
    assert len(records) > 0
    return records
