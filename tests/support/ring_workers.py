"""Process bodies for the ring tests (importable by spawned children), and reading the logs they write."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from shm.records import TICK
from shm.ring import CONSUMER, PRODUCER, Ring


def read_log(path) -> np.ndarray:
    """The seqs a ``produce`` or ``consume`` log holds (none if it was never written)."""
    return np.fromfile(path, dtype=np.int64) if os.path.exists(path) else np.zeros(0, np.int64)


def produce(name: str, first: int, count: int, batch: int, retry: bool, pause_s: float = 0.0, log: str | None = None,
            numba: bool = True) -> None:
    """Push seq ``first .. first+count-1`` in batches; with ``retry`` re-push what did not fit.

    ``log`` (optional): write the seqs that were accepted, one int64 each.
    ``numba=False``: the plain producer (shm/plain.py), which must not import Numba at all.
    """
    ring = Ring(name, PRODUCER, TICK, numba=numba)
    records = np.zeros(batch, dtype=TICK)
    accepted = []
    seq, end = first, first + count
    while seq < end:
        n = min(batch, end - seq)
        records["seq"][:n] = np.arange(seq, seq + n, dtype=np.uint64)
        done = ring.push_batch(records[:n])
        while retry and done < n:
            done += ring.push_batch(records[done:n])
        accepted.append(records["seq"][:done].copy())
        seq += n
        if pause_s:
            time.sleep(pause_s)
    if log:
        np.concatenate(accepted or [np.zeros(0, np.uint64)]).astype(np.int64).tofile(log)
    if not numba and "numba" in sys.modules:
        raise AssertionError("the plain producer imported Numba")
    ring.close()


def whole_records(first: int, count: int) -> np.ndarray:
    """Records ``first .. first+count-1`` whose every byte follows from their position: one torn or stale
    record, or one never written, does not match."""
    words = np.arange(first * 8, (first + count) * 8, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return words.view(TICK)


def produce_whole(name: str, batch: int, numba: bool) -> None:
    """Push ``whole_records`` from the ring's head on, in batches of ``batch``, retrying, until killed."""
    ring = Ring(name, PRODUCER, TICK, numba=numba)
    if not numba and "numba" in sys.modules:
        raise AssertionError("the plain producer imported Numba")
    position = ring.head
    while True:
        records = whole_records(position, batch)
        done = 0
        while done < batch:
            done += ring.push_batch(records[done:])
        position += batch


def consume(name: str, until_seq: int, log: str, batch: int = 256, pause_s: float = 0.0, numba: bool = True) -> None:
    """Pop until ``until_seq`` is seen; append each handled batch's seqs to ``log`` before committing.

    ``numba=False``: the plain consumer (shm/plain.py), which must not import Numba at all.
    """
    ring = Ring(name, CONSUMER, TICK, numba=numba)
    out = np.zeros(batch, dtype=TICK)
    with open(log, "ab") as handled:
        while True:
            count = ring.pop_batch(out, spin_us=1000)
            if not count:
                continue
            seqs = out["seq"][:count].astype(np.int64)
            handled.write(seqs.tobytes())
            handled.flush()
            ring.commit()
            if seqs[-1] >= until_seq:
                break
            if not numba and "numba" in sys.modules:
                raise AssertionError("the plain consumer imported Numba")
            if pause_s:
                time.sleep(pause_s)
    ring.close()


def hold(name: str, role: str, seconds: float, any_layout: bool = False) -> None:
    """Attach in ``role`` (to TICK records, or ``any_layout``) and stay alive for ``seconds`` (or until killed)."""
    ring = Ring(name, role, None if any_layout else TICK)
    time.sleep(seconds)
    ring.close()


def create_and_exit(name: str, capacity: int) -> None:
    """Create a ring and exit without removing it."""
    Ring(name, PRODUCER, TICK, capacity).close()


def register_symbols(group: str, keys: list[tuple[str, str]], out_path: str) -> None:
    """Register ``keys`` in the symbol directory and write 'key id' lines to ``out_path``."""
    from shm.symbols import SymbolDirectory

    directory = SymbolDirectory(group)
    lines = [f"{exchange}:{symbol} {directory.id_of(exchange, symbol)}" for exchange, symbol in keys]
    with open(out_path, "w") as out:
        out.write("\n".join(lines) + "\n")
