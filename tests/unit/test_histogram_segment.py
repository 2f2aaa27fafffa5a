"""Cumulative latency histograms in shared memory (shm/histogram_segment.py): what a reader gets back, and what
it refuses (a torn write, another layout, a file cut short, a link, another process's counts)."""
from __future__ import annotations

import os

import numpy as np
import pytest

from shm import histogram_segment as hs
from shm import segment
from shm.ring import group_rings
from shm.pipeline_records import STAGE_TICK_TO_SIGNAL, STAGE_TICK_TO_STORE


def _counts(stage: int, exchange: int, bucket: int, value: int) -> np.ndarray:
    counts = np.zeros(hs.SHAPE, np.int64)
    counts[stage, exchange, bucket] = value
    return counts


def _word(group: str, producer: str, word: int, value: int) -> None:
    fd = os.open(segment.path_of(hs.segment_name(group, producer)), os.O_RDWR)
    os.pwrite(fd, int(value).to_bytes(8, "little", signed=True), word * 8)
    os.close(fd)


def test_published_counts_read_back_and_the_producers_add_up(group):
    aggregator, writer = hs.HistogramPublisher(group, "aggregator"), hs.HistogramPublisher(group, "writer")
    try:
        assert hs.read_all(group).sum() == 0  # zeroed at start
        aggregator.publish(_counts(STAGE_TICK_TO_SIGNAL, 1, 500, 7))
        writer.publish(_counts(STAGE_TICK_TO_STORE, 1, 700, 3))
        assert hs.read_counts(group, "aggregator")[STAGE_TICK_TO_SIGNAL, 1, 500] == 7
        both = hs.read_all(group)
        assert (both[STAGE_TICK_TO_SIGNAL, 1, 500], both[STAGE_TICK_TO_STORE, 1, 700], both.sum()) == (7, 3, 10)
        assert os.stat(segment.path_of(hs.segment_name(group, "writer"))).st_mode & 0o7777 == 0o600
        assert group_rings(group) == []  # not rings: `tickagg rings` and the status leave them out
    finally:
        aggregator.close()
        writer.close()


def test_one_producer_at_a_time_and_a_restart_starts_from_zero(group):
    first = hs.HistogramPublisher(group, "aggregator")
    first.publish(_counts(0, 2, 10, 5))
    with pytest.raises(hs.HistogramBusyError):
        hs.HistogramPublisher(group, "aggregator")
    assert hs.open_publisher(group, "aggregator") is None  # logged, never fatal
    first.close()
    again = hs.HistogramPublisher(group, "aggregator")
    assert hs.read_counts(group, "aggregator").sum() == 0
    again.close()


def test_a_publication_under_way_is_not_read(group):
    publisher = hs.HistogramPublisher(group, "aggregator")
    publisher.publish(_counts(0, 2, 10, 5))
    _word(group, "aggregator", hs.W_SEQUENCE, int(publisher.header[hs.W_SEQUENCE]) + 1)  # odd: being written
    assert hs.read_counts(group, "aggregator") is None
    publisher.close()


def test_a_restart_after_a_producer_killed_mid_publication_is_read(group):
    """A producer killed between its two sequence steps leaves the sequence odd: its restart must not keep it odd
    (every reader would answer None for ever)."""
    killed = hs.HistogramPublisher(group, "aggregator")
    _word(group, "aggregator", hs.W_SEQUENCE, int(killed.header[hs.W_SEQUENCE]) + 1)  # odd: killed while writing
    killed.close()
    restarted = hs.HistogramPublisher(group, "aggregator")
    assert hs.read_counts(group, "aggregator").sum() == 0
    restarted.publish(_counts(0, 2, 10, 5))
    assert hs.read_counts(group, "aggregator")[0, 2, 10] == 5
    restarted.close()


@pytest.mark.parametrize("word,value", [(hs.W_MAGIC, 1), (hs.W_VERSION, 2), (hs.W_BUCKETS, 10**6), (8 + 3, -1)])
def test_other_layouts_and_negative_counts_are_refused_and_replaced_by_the_producer(group, word, value):
    hs.HistogramPublisher(group, "writer").close()
    _word(group, "writer", word, value)
    assert hs.read_counts(group, "writer") is None and hs.read_all(group) is None
    publisher = hs.HistogramPublisher(group, "writer")  # the producer's restart: a clean segment
    assert hs.read_counts(group, "writer").sum() == 0
    publisher.close()


def test_a_file_cut_short_an_empty_one_and_a_link_read_as_nothing(group, tmp_path):
    hs.HistogramPublisher(group, "aggregator").close()
    path = segment.path_of(hs.segment_name(group, "aggregator"))
    os.truncate(path, hs.SIZE // 2)
    assert hs.read_counts(group, "aggregator") is None
    os.truncate(path, 0)
    assert hs.read_counts(group, "aggregator") is None
    assert hs.open_publisher(group, "aggregator") is not None  # replaced
    os.unlink(path)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"\0" * hs.SIZE)
    os.symlink(target, path)
    assert hs.read_counts(group, "aggregator") is None and hs.open_publisher(group, "aggregator") is None
    assert target.read_bytes() == b"\0" * hs.SIZE  # never followed
    os.unlink(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_another_users_segment_is_neither_read_nor_used(group):
    hs.HistogramPublisher(group, "aggregator").close()
    path = segment.path_of(hs.segment_name(group, "aggregator"))
    os.chown(path, 65534, 65534)  # as if another local user had made it first
    assert hs.read_counts(group, "aggregator") is None and hs.open_publisher(group, "aggregator") is None
    assert os.stat(path).st_uid == 65534  # left for its owner or root to remove


@pytest.mark.parametrize("size", [8, hs.HEADER_WORDS * 8 - 1])
def test_a_file_shorter_than_the_header_is_replaced_by_the_producer(group, size):
    hs.HistogramPublisher(group, "writer").close()
    os.truncate(segment.path_of(hs.segment_name(group, "writer")), size)  # bad luck: a segment cut short
    publisher = hs.open_publisher(group, "writer")  # the writer's start: never a crash (a crash loop on restart)
    assert publisher is not None
    publisher.publish(_counts(STAGE_TICK_TO_STORE, 2, 100, 5))
    assert hs.read_counts(group, "writer").sum() == 5
    publisher.close()
