"""Groups are matched exactly, never by prefix: with a dotted-prefix neighbour `G.x` (left by an earlier
release, which allowed dots) and a longer-named `Gx`, a real `tickagg rings --remove G` and a real writer
of G touch G's segments only."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from shm import segment
from shm.names import group_segments
from shm.pipeline_records import EVENT
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from shm.symbols import SymbolDirectory, directory_name


def tickagg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", *args], capture_output=True, text=True, timeout=timeout)


def _events(count: int) -> np.ndarray:
    events = np.zeros(count, EVENT)
    events["exchange_id"] = 1
    return events


def _neighbours(group: str) -> list[str]:
    """Segments of `<group>.x` (as an earlier release named them) and of `<group>x`."""
    dotted = [f"tickagg.{group}.x.{short}" for short in ("binance", "binance.events", "out.events", "symbols")]
    longer = [ring_name(group + "x", short) for short in ("binance", "binance.events")]
    for name in dotted + longer:
        with Ring(name, PRODUCER, EVENT, 64) as ring:
            ring.push_batch(_events(5))
    return dotted + longer


def test_remove_takes_the_group_and_leaves_its_neighbours(group):
    neighbours = _neighbours(group)
    try:
        Ring(ring_name(group, "binance.events"), PRODUCER, EVENT, 64).close()
        SymbolDirectory(group, capacity=4).close()
        result = tickagg("rings", "--remove", group)
        assert result.returncode == 0, result.stderr
        assert f"removed 2 segment(s) of group {group}:" in result.stdout
        assert group_segments(group) == [] and not segment.exists(directory_name(group))
        assert all(segment.exists(name) for name in neighbours), result.stdout
    finally:
        for name in neighbours:
            segment.remove(name)


def test_the_writer_reads_its_groups_event_rings_only(group, tmp_path, chdb_url):
    neighbours = _neighbours(group)
    try:
        with Ring(ring_name(group, "binance.events"), PRODUCER, EVENT, 64) as ring:
            ring.push_batch(_events(7))
        result = tickagg("write", "--group", group, "--store", chdb_url, "--state-dir", str(tmp_path / "writer"),
                         "--seconds", "5", "--verbose")
        assert result.returncode == 0, result.stderr[-2000:]
        with Ring(ring_name(group, "binance.events"), MONITOR) as ring:
            assert ring.tail == 7  # its own: read and stored
        for name in neighbours:
            with Ring(name, MONITOR) as ring:
                assert ring.tail == 0 and not ring.status()["consumer_pid"], name  # never attached, never read
            assert name not in result.stderr
        stored = tickagg("query", "SELECT count() FROM tickagg.events", "--store", chdb_url, "--json")
        assert '"rows":[[7]]' in stored.stdout.replace(" ", ""), stored.stdout + stored.stderr
    finally:
        for name in neighbours:
            segment.remove(name)
