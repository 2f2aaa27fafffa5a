"""Cumulative latency histograms in shared memory, for readers in other processes (the Prometheus exporter).

The aggregator and the writer count latencies into shm/histogram.py's
log-linear buckets, per ``[stage, exchange_id, bucket]``. Each publishes the
counts since it started, once a second, from plain Python (never from a Numba
kernel), into its own segment:

- ``tickagg.<group>.latency_hist``: the aggregator's stages (exchange_to_recv,
  recv_to_pop, pop_to_signal, tick_to_signal);
- ``tickagg.<group>.store_latency_hist``: the writer's (tick_to_store).

Each segment holds the full ``[STAGES, EXCHANGES, BUCKETS]`` int64 array; a
producer leaves the stages it does not measure at zero. Layout (int64 words)::

   0 magic  1 version  2 stages  3 exchanges  4 buckets  5 sequence  6 updated_ns  7 lock byte (producer)
   8...     the counts, C order

A publication is a sequence lock: the producer makes ``sequence`` odd, writes
the counts and ``updated_ns``, then makes it even (x86 keeps the stores in
order); a reader copies the counts between two equal even readings. A producer
takes the OFD lock on its byte (one producer per segment), zeroes the counts
when it starts (a counter reset, which Prometheus handles; an odd sequence left
by a producer killed mid-publication is made even first) and replaces a
segment with another layout. Created and opened with shm/segment.py's rules
(0600, no symbolic links, owner checked). Readers trust nothing: they read with
``pread`` (a file cut short is a short read, never SIGBUS) and answer None for a
missing, foreign, torn or implausible segment.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np

from shm import histogram, names, segment
from shm.pipeline_records import STAGE_NAMES

log = logging.getLogger("tickagg.histograms")
MAGIC = int.from_bytes(b"TAGHIST1", "little")
VERSION = 1
STAGES = len(STAGE_NAMES)
EXCHANGES = 16  # exchange ids 0..15
SHAPE = (STAGES, EXCHANGES, histogram.BUCKETS)
HEADER_WORDS = 8
W_MAGIC, W_VERSION, W_STAGES, W_EXCHANGES, W_BUCKETS, W_SEQUENCE, W_UPDATED, W_LOCK = range(HEADER_WORDS)
LOCK_BYTE = W_LOCK * 8
SIZE = (HEADER_WORDS + STAGES * EXCHANGES * histogram.BUCKETS) * 8
SEGMENTS = {"aggregator": "latency_hist", "writer": "store_latency_hist"}  # producer -> segment short name
READ_ATTEMPTS = 5


class HistogramBusyError(segment.SegmentError):
    """Another live process publishes into this segment."""


def segment_name(group: str, producer: str) -> str:
    return f"{names.PREFIX}{names.check_group(group)}.{SEGMENTS[producer]}"


def _initialise(memory) -> None:
    header = np.ndarray(HEADER_WORDS, np.int64, memory)
    header[:] = (MAGIC, VERSION, *SHAPE, 0, 0, 0)


def _layout_ok(header: np.ndarray, size: int) -> bool:
    return size == SIZE and tuple(header[:W_SEQUENCE]) == (MAGIC, VERSION, *SHAPE)


class HistogramPublisher:
    """The producer's side: ``publish(counts)`` copies a ``SHAPE`` int64 array into the segment."""

    def __init__(self, group: str, producer: str):
        self.name = segment_name(group, producer)
        for _ in range(3):
            if not segment.exists(self.name):
                segment.create(self.name, SIZE, _initialise)
            try:
                fd, memory = segment.open_segment(self.name)
            except segment.SegmentMissingError:
                continue  # removed between the two: create it again
            except ValueError:  # an empty file (mmap refuses it): no producer's, which are created whole
                segment.remove(self.name)
                continue
            if not segment.try_lock(fd, LOCK_BYTE):
                memory.close()
                os.close(fd)
                raise HistogramBusyError(f"{segment.path_of(self.name)} is published by another live process")
            if len(memory) == SIZE:  # else not even a header to look at (a file cut short): replaced below
                header = np.ndarray(HEADER_WORDS, np.int64, memory)
                if _layout_ok(header, len(memory)):
                    self.fd, self.memory, self.header = fd, memory, header
                    self.counts = np.ndarray(SHAPE, np.int64, memory, HEADER_WORDS * 8)
                    header[W_SEQUENCE] += header[W_SEQUENCE] & 1  # a producer killed mid-publication left it odd
                    self.publish(np.zeros(SHAPE, np.int64))
                    return
                del header  # no view of the mapping left: it can be closed
            log.warning("%s has another layout; replacing it", segment.path_of(self.name))
            memory.close()
            segment.remove(self.name)  # we hold its lock: no live producer; readers keep their copy
            os.close(fd)
        raise segment.SegmentError(f"cannot set up {segment.path_of(self.name)}")

    def publish(self, counts: np.ndarray) -> None:
        header = self.header
        header[W_SEQUENCE] += 1  # odd: being written
        self.counts[...] = counts
        header[W_UPDATED] = time.time_ns()
        header[W_SEQUENCE] += 1

    def close(self) -> None:
        del self.header, self.counts
        self.memory.close()
        os.close(self.fd)


def open_publisher(group: str, producer: str) -> HistogramPublisher | None:
    """A publisher, or None (logged) when the segment cannot be used: latency metrics are never worth stopping
    the pipeline for."""
    try:
        return HistogramPublisher(group, producer)
    except (segment.SegmentError, OSError, ValueError) as exc:  # ValueError: an empty file (mmap refuses it)
        log.error("latency histograms not published: %s", exc)
        return None


def read_counts(group: str, producer: str) -> np.ndarray | None:
    """A consistent copy of one producer's cumulative counts (``SHAPE`` int64), or None."""
    try:
        fd, memory = segment.open_segment(segment_name(group, producer))
    except (segment.SegmentError, OSError, ValueError):  # ValueError: an empty file (mmap refuses it)
        return None
    memory.close()  # never touched: a mapping of a file cut short under us faults (SIGBUS); pread cannot
    try:
        for _ in range(READ_ATTEMPTS):
            before = np.frombuffer(os.pread(fd, HEADER_WORDS * 8, 0), np.int64)
            if len(before) != HEADER_WORDS or not _layout_ok(before, os.fstat(fd).st_size):
                return None
            data = os.pread(fd, SIZE - HEADER_WORDS * 8, HEADER_WORDS * 8)
            after = os.pread(fd, 8, W_SEQUENCE * 8)
            sequence = int(before[W_SEQUENCE])
            if len(data) == SIZE - HEADER_WORDS * 8 and sequence % 2 == 0 \
                    and after == int(sequence).to_bytes(8, "little", signed=True):
                counts = np.frombuffer(data, np.int64).reshape(SHAPE)
                return counts.copy() if (counts >= 0).all() else None
            time.sleep(0.001)
        return None
    except OSError:
        return None
    finally:
        os.close(fd)


def read_all(group: str) -> np.ndarray | None:
    """Every producer's counts added up (each measures its own stages), or None when none could be read."""
    found = [counts for counts in (read_counts(group, producer) for producer in SEGMENTS) if counts is not None]
    return sum(found[1:], found[0]) if found else None
