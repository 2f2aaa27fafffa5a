"""The real aggregator process over damaged rings: a feed ring's head moved out of reach, a feed ring and an
output ring truncated under it. No stale slot published, no tick twice, the other venues go on, a restart recovers."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import header_workers as hw
from aggregator_helpers import MINUTE, feed_ticks, out_ticks_published, start_aggregator
from feed_helpers import read_all, wait_until
from shm import header as H
from shm import segment
from shm.pipeline_records import STAMPED_TICK
from shm.records import EXCHANGE_IDS, TICK
from shm.ring import MONITOR, PRODUCER, Ring, RingDamagedError, ring_name

CAPACITY = 1 << 12


def push_all(ring: Ring, ticks: np.ndarray, timeout_s: float = 60) -> None:
    done, deadline = 0, time.monotonic() + timeout_s
    while done < len(ticks):
        done += ring.push_batch(ticks[done:])
        assert time.monotonic() < deadline, "the ring never had room"
        time.sleep(0.001)


def published(group: str) -> np.ndarray:
    """Everything in out.ticks (consumed: call once)."""
    return read_all(group, "out.ticks", STAMPED_TICK)


def seqs_of(stored: np.ndarray, exchange: str) -> np.ndarray:
    return stored["seq"][stored["exchange_id"] == EXCHANGE_IDS[exchange]].astype(np.int64)


def stop(process) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=60)[1]


def test_a_feed_head_moved_by_ten_million_publishes_no_stale_slot_and_nothing_twice(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = feed_ticks(group, "binance", 6_000, start, 11)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, CAPACITY)
    push_all(ring, ticks[:3_000])
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) >= 3_000, 300, "aggregator to publish the first ticks")
        hw.write_word(ring.name, H.W_HEAD, ring.head + 10**7)  # we are the producer: nobody races this write
        push_all(ring, ticks[3_000:])
        wait_until(lambda: Ring(ring.name, MONITOR).tail == ring.head, 60, "aggregator to drain")
        time.sleep(0.3)
        status = ring.status()
    finally:
        stderr = stop(process)
        ring.close()
    stored = published(group)
    np.testing.assert_array_equal(seqs_of(stored, "binance"), np.arange(6_000))  # every real tick once, no slot it never had
    assert np.all(stored["exchange_id"] > 0) and np.all(stored["ts_exchange_ns"] >= start)
    assert status["consumer_resyncs"] == 1 and status["skipped"] == 10**7
    assert "impossible positions" in stderr and "skipped unread 10000000" in stderr


def _quiet_slices(group: str) -> int:
    with Ring(ring_name(group, "out.ticks"), MONITOR) as ring:
        return ring.status()["metrics"].get("quiet_slices", 0)


@pytest.mark.parametrize("quiet", [False, True], ids=["busy", "quiet"])  # quiet: 5 ms naps
def test_a_truncated_feed_ring_is_let_go_the_others_go_on_and_its_replacement_is_read(group, quiet):
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    binance_ticks = feed_ticks(group, "binance", 4_000, start, 5)
    okx_ticks = feed_ticks(group, "okx", 2_000, start, 6)
    binance = Ring(ring_name(group, "binance"), PRODUCER, TICK, CAPACITY)
    okx = Ring(ring_name(group, "okx"), PRODUCER, TICK, CAPACITY)
    push_all(binance, binance_ticks[:1_000])
    push_all(okx, okx_ticks[:1_000])
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) >= 2_000, 300, "aggregator to publish both venues")
        if quiet:  # the cut is noticed within the same bound (one quiet slice, one nap, the checks) as when busy
            first = _quiet_slices(group)
            wait_until(lambda: _quiet_slices(group) >= first + 2, 60, "the aggregator quiet")
        os.truncate(segment.path_of(okx.name), H.HEADER_BYTES + CAPACITY // 2 * TICK.itemsize)
        time.sleep(0.5)
        push_all(binance, binance_ticks[1_000:3_000])
        wait_until(lambda: out_ticks_published(group) >= 4_000, 60, "binance ticks after the truncation")
        assert process.poll() is None
        okx.close()  # its producer stops (it would stop on its own at its next size check) and restarts:
        okx = Ring(okx.name, PRODUCER, TICK, CAPACITY)  # the aggregator let go, so the file is replaced
        assert okx.head == 0 and okx.created_ns > 0
        push_all(okx, okx_ticks[1_000:])
        push_all(binance, binance_ticks[3_000:])
        wait_until(lambda: out_ticks_published(group) >= 6_000, 60, "both venues after the replacement")
        time.sleep(0.3)
        assert process.poll() is None
    finally:
        stderr = stop(process)
        binance.close()
        okx.close()
    stored = published(group)
    np.testing.assert_array_equal(seqs_of(stored, "binance"), np.arange(4_000))
    np.testing.assert_array_equal(seqs_of(stored, "okx"), np.arange(2_000))
    assert f"{segment.path_of(okx.name)} is now {H.HEADER_BYTES + CAPACITY // 2 * 64} bytes" in stderr
    assert stderr.count("no longer used by this consumer") == 1


def test_a_truncated_output_ring_stops_the_aggregator_with_the_reason_and_a_restart_replaces_it(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = feed_ticks(group, "binance", 4_000, start, 9)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, CAPACITY)
    push_all(ring, ticks[:2_000])
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) >= 2_000, 300, "aggregator to publish")
        bars = ring_name(group, "out.bars1s")
        os.truncate(segment.path_of(bars), H.HEADER_BYTES + 64)
        process.wait(30)
        stderr = process.communicate(timeout=30)[1]
        assert process.returncode == 1  # a clear exit, not SIGBUS
        assert f"output ring {segment.path_of(bars)} is now {H.HEADER_BYTES + 64} bytes" in stderr
        assert "Traceback" not in stderr
        process = start_aggregator(group)  # nobody holds out.bars1s now: replaced, and on it goes
        push_all(ring, ticks[2_000:])
        wait_until(lambda: Ring(ring.name, MONITOR).tail == 4_000, 300, "restarted aggregator to drain")
        time.sleep(0.3)
        assert process.poll() is None
    finally:
        stderr = stop(process)
        ring.close()
    assert "replaced a damaged or foreign ring" in stderr
    seqs = seqs_of(published(group), "binance")
    assert np.all(np.diff(seqs) > 0) and seqs[-1] == 3_999


def test_a_feed_ring_magic_overwritten_is_read_on_and_replaced_once_its_producer_restarts(group):
    start = (time.time_ns() // MINUTE - 5) * MINUTE
    ticks = feed_ticks(group, "binance", 3_000, start, 13)
    ring = Ring(ring_name(group, "binance"), PRODUCER, TICK, CAPACITY)
    push_all(ring, ticks[:1_000])
    process = start_aggregator(group)
    try:
        wait_until(lambda: out_ticks_published(group) >= 1_000, 300, "aggregator to publish")
        hw.write_word(ring.name, H.W_MAGIC, 0x41414141, low_bytes=4)
        push_all(ring, ticks[1_000:2_000])  # both sides go on with the words they checked at attach
        wait_until(lambda: out_ticks_published(group) >= 2_000, 60, "ticks after the damage")
        ring.close()  # the feed stops; its restart must not loop on "damaged, held by a live consumer"
        deadline, refusals = time.monotonic() + 10, 0
        while True:
            try:
                ring = Ring(ring.name, PRODUCER, TICK, CAPACITY)
                break
            except RingDamagedError as exc:  # until the aggregator's next slice lets the ring go
                assert "bad magic" in str(exc) and "live consumer" in str(exc)
                refusals += 1
                assert time.monotonic() < deadline, "the damaged ring was never let go"
                time.sleep(0.02)
        assert ring.head == 0
        push_all(ring, ticks[2_000:])
        wait_until(lambda: out_ticks_published(group) >= 3_000, 60, "ticks in the replaced ring")
        time.sleep(0.3)
        assert process.poll() is None
    finally:
        stderr = stop(process)
        ring.close()
    np.testing.assert_array_equal(seqs_of(published(group), "binance"), np.arange(3_000))
    assert "header words overwritten: magic" in stderr and "letting" in stderr
