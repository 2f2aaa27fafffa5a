"""What a segment must be before it is used (shm/segment.py), shown with this process's own files:
a symbolic link, a file open to other users and something other than a regular file are refused,
with a message that names the file, its owner and mode; created segments are 0600 whatever the umask.
(Files of a second user: tests/fault/test_shm_squatting.py.)"""
from __future__ import annotations

import fcntl
import os
import time

import pytest

from shm import segment, symbols
from shm.records import TICK
from shm.ring import PRODUCER, MONITOR, Ring, RingRefusedError, ring_name
from shm.symbols import SymbolDirectory, SymbolDirectoryBusy, directory_name


def _path(name: str) -> str:
    return segment.path_of(name)


def test_created_segments_are_0600_whatever_the_umask(group):
    old = os.umask(0o777)
    try:
        Ring(ring_name(group, "binance"), PRODUCER, TICK, 8).close()
        SymbolDirectory(group, capacity=4).close()
    finally:
        os.umask(old)
    for name in (ring_name(group, "binance"), directory_name(group)):
        assert os.stat(_path(name)).st_mode & 0o7777 == 0o600
    assert not [n for n in os.listdir(segment.SHM_DIR) if n.startswith(f".tickagg.{group}.")]  # no temporaries left


def test_a_file_open_to_others_is_refused_and_left_as_it_is(group):
    name = ring_name(group, "binance")
    Ring(name, PRODUCER, TICK, 8).close()
    os.chmod(_path(name), 0o644)
    before = open(_path(name), "rb").read()
    with pytest.raises(RingRefusedError) as refused:
        Ring(name, PRODUCER, TICK, 8)
    message = str(refused.value)
    assert _path(name) in message and "0644" in message and "open to other users" in message
    assert f"tickagg rings --remove {group}" in message
    assert open(_path(name), "rb").read() == before


def test_a_symbolic_link_is_never_followed(group, tmp_path):
    target = tmp_path / "precious"
    target.write_bytes(b"root's own data")
    for name in (ring_name(group, "binance"), directory_name(group)):
        os.symlink(target, _path(name))
    with pytest.raises(RingRefusedError) as refused:
        Ring(ring_name(group, "binance"), PRODUCER, TICK, 8)  # would create it: the link stays in the way
    assert "symbolic link" in str(refused.value) and str(target) in str(refused.value)
    with pytest.raises(segment.SegmentRefusedError, match="never follows links"):
        SymbolDirectory(group)
    with pytest.raises(RingRefusedError):
        Ring(ring_name(group, "binance"), MONITOR)
    assert target.read_bytes() == b"root's own data"
    assert os.stat(target).st_size == len(b"root's own data")


def test_a_fifo_or_directory_is_not_a_segment(group):
    fifo, directory = ring_name(group, "fifo"), ring_name(group, "dir")
    os.mkfifo(_path(fifo), 0o600)
    os.mkdir(_path(directory), 0o700)
    try:
        with pytest.raises(RingRefusedError, match="not a regular file"):
            Ring(fifo, MONITOR)
        with pytest.raises(RingRefusedError, match=_path(directory)):
            Ring(directory, MONITOR)
    finally:
        os.rmdir(_path(directory))


def test_a_missing_ring_is_still_a_plain_missing_error(group):
    with pytest.raises(segment.SegmentMissingError):
        segment.open_segment(ring_name(group, "nothere"))


def test_the_insert_lock_wait_is_bounded(group, monkeypatch):
    directory = SymbolDirectory(group, capacity=8)
    holder = os.open(_path(directory.name), os.O_RDONLY)  # another open file description: flock sees a rival
    fcntl.flock(holder, fcntl.LOCK_EX)
    monkeypatch.setattr(symbols, "LOCK_WAIT_S", 0.3)
    try:
        started = time.monotonic()
        with pytest.raises(SymbolDirectoryBusy, match=_path(directory.name)):
            directory.id_of("binance", "BTCUSDT")
        waited = time.monotonic() - started
        assert 0.3 <= waited < 2.0
    finally:
        os.close(holder)
    assert directory.id_of("binance", "BTCUSDT") == 1  # lock released: inserts work again
    directory.close()
