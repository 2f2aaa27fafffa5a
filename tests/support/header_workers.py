"""Process bodies for the damaged-header tests (importable by spawned children) and the damage they do."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from shm import header as H
from shm import segment
from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring, RingError

DAMAGED_EXIT = 3


def write_word(name: str, word: int, value: int, low_bytes: int = 8) -> None:
    """Overwrite header word ``word`` of ring ``name`` (only its ``low_bytes`` lowest bytes) from outside."""
    fd, memory = segment.open_segment(name)
    try:
        memory[word * 8 : word * 8 + low_bytes] = int(value).to_bytes(8, "little", signed=True)[:low_bytes]
    finally:
        memory.close()
        os.close(fd)


def read_word(name: str, word: int) -> int:
    fd, memory = segment.open_segment(name)
    try:
        return int.from_bytes(memory[word * 8 : word * 8 + 8], "little", signed=True)
    finally:
        memory.close()
        os.close(fd)


def produce_until_damaged(name: str, batch: int, pause_s: float, error_path: str) -> None:
    """Push increasing seqs (retrying what does not fit) until the ring is found damaged: write why, exit 3."""
    try:
        ring = Ring(name, PRODUCER, TICK)
        records = np.zeros(batch, TICK)
        seq = 0
        while True:
            records["seq"] = np.arange(seq, seq + batch, dtype=np.uint64)
            done = 0
            while done < batch:
                done += ring.push_batch(records[done:])
            seq += batch
            time.sleep(pause_s)
    except RingError as exc:
        _exit_damaged(error_path, exc)


def consume_until_damaged(name: str, log: str, numba: bool, error_path: str) -> None:
    """Pop and log seqs until the ring is found damaged: write why, exit 3."""
    try:
        ring = Ring(name, CONSUMER, TICK, numba=numba)
        out = np.zeros(256, TICK)
        with open(log, "ab") as handled:
            while True:
                count = ring.pop_batch(out)
                if count:
                    handled.write(out["seq"][:count].astype(np.int64).tobytes())
                    handled.flush()
                    ring.commit()
                else:
                    time.sleep(0.001)
    except RingError as exc:
        _exit_damaged(error_path, exc)


def _exit_damaged(error_path: str, exc: Exception) -> None:
    with open(error_path, "w") as f:
        f.write(str(exc))
    sys.stdout.flush()
    os._exit(DAMAGED_EXIT)
