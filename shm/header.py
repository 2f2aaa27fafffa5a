"""The ring header: one 4 KiB page in front of the records, read as int64 words.

::

  byte 0       8        16       24       32       40       48            64
       +--------+--------+--------+--------+--------+--------------------+
  L0   | magic  |version |rec_size|capacity|dtype fp|created | reserved   |  written once
       +--------+--------+--------+--------+--------+--------------------+
  L1   | head   |                 (alone: written by the producer only)  |  64
       +--------+--------+--------+--------------------------------------+
  L2   |dropped |prod pid|prod hb |p resync| bell   | (producer)         |  128
       +--------+--------+--------+--------+--------+--------------------+
  L3   | tail   | asleep |   (written by the consumer only)              |  192
       +--------+--------+-----------------------------------------------+
  L4   |cons pid|cons hb |c resync|skipped |     (consumer bookkeeping)   |  256
       +--------+--------+--------+--------+------------------------------+
  512  | metrics: 64 int64 counters written by the producer (feed stats)  |
  1024 | record dtype description, UTF-8, NUL padded (for error messages) |
  2048 | metric names, UTF-8, comma separated, NUL padded                 |
  3072 | reserved                                                         |
  4096 | records: capacity x rec_size bytes                               |

- head / tail count records since creation (never wrap); the slot of record
  ``n`` is ``n & (capacity - 1)``. ``head - tail`` records are in the ring.
- head and tail each own a 64-byte cache line so that the producer's and the
  consumer's stores never invalidate each other's line (no false sharing).
- The producer holds an OFD lock on byte 64 and the consumer on byte 192
  (shm/segment.py): the kernel drops a lock when its holder dies.
- ``hb`` = heartbeat, ``time.time_ns()`` of the role's last call.
- Positions read from shared memory are never trusted (another process, or a
  bug, may have written them): every batch checks ``tail <= head <= tail +
  capacity`` with the capacity validated at attach (shm/ring_check.py), never
  the word. ``p resync``: times the producer found the tail ahead of its head
  and restarted from the tail. ``c resync``: times the consumer found the head
  beyond reach (it jumps to the head) or its own tail overwritten (it restores
  it); ``skipped``: records the consumer's jumps passed over unread.
- ``asleep`` / ``bell``: the doorbell (shm/doorbell.py). A consumer about to
  sleep sets ``asleep``; a producer that finds it set after publishing its
  head bumps ``bell`` (a futex word: its low 32 bits) and wakes the sleeper.
  ``asleep`` shares the tail's line, which the producer loads every push.
"""
from __future__ import annotations

import contextlib

MAGIC = int.from_bytes(b"TICKAGG\x01", "little")
VERSION = 1
HEADER_BYTES = 4096

# int64 word indexes
W_MAGIC, W_VERSION, W_RECORD_SIZE, W_CAPACITY, W_FINGERPRINT, W_CREATED_NS = range(6)
W_HEAD = 8
W_DROPPED, W_PRODUCER_PID, W_PRODUCER_HB, W_PRODUCER_RESYNCS, W_BELL = 16, 17, 18, 19, 20
W_TAIL, W_ASLEEP = 24, 25
W_CONSUMER_PID, W_CONSUMER_HB, W_CONSUMER_RESYNCS, W_SKIPPED = 32, 33, 34, 35
W_METRICS, METRIC_SLOTS = 64, 64

# byte ranges
DTYPE_TEXT = slice(1024, 2048)
METRIC_NAMES_TEXT = slice(2048, 3072)

# OFD lock bytes (the first byte of the head and tail lines)
PRODUCER_LOCK_BYTE = W_HEAD * 8
CONSUMER_LOCK_BYTE = W_TAIL * 8


def read_text(memory, span: slice) -> str:
    return bytes(memory[span]).split(b"\0", 1)[0].decode("utf-8", "replace")


def write_text(memory, span: slice, text: str) -> None:
    data = text.encode("utf-8")
    size = span.stop - span.start
    if len(data) >= size:
        raise ValueError(f"header text of {len(data)} bytes does not fit in {size}")
    memory[span] = data + b"\0" * (size - len(data))


@contextlib.contextmanager
def header_words(memory):
    """The header of ring mapping ``memory`` as int64 words (a ``memoryview``, no NumPy), released on exit: a view
    left alive would keep the mapping, and with it the file and its role locks, after the ring is closed."""
    with memoryview(memory) as view, view[:HEADER_BYTES] as head, head.cast("q") as words:
        yield words
