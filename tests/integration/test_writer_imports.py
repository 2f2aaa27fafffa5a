"""The writer process never imports Numba (nor pandas or pyarrow with a ClickHouse server: chDB loads pyarrow
itself): a real `tickagg write` into each store, looked at from outside while it runs (/proc/PID/maps) and
from inside at its exit (sys.modules)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from import_probe import entry, mapped_files
from feed_helpers import wait_until
from bench.writer_command import make_ticks
from shm.pipeline_records import STAMPED_TICK
from shm.ring import MONITOR, PRODUCER, Ring, ring_name
from store import open_store, parse

HEAVY = ("numba", "llvmlite", "pandas", "pyarrow")
ENTRY = entry(HEAVY)


def test_the_writer_process_never_imports_numba(store_url, group, tmp_path):
    with Ring(ring_name(group, "out.ticks"), PRODUCER, STAMPED_TICK, 1 << 12) as ring:
        assert ring.push_batch(make_ticks(0, 1000, time.time_ns())) == 1000
    command = [sys.executable, "-c", ENTRY, "write", "--group", group, "--store", store_url,
               "--state-dir", str(tmp_path / "writer"), "--ring", "out.ticks"]
    writer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with Ring(ring_name(group, "out.ticks"), MONITOR) as ring:
            wait_until(lambda: ring.tail == 1000 or writer.poll() is not None, 120, "the writer to store 1,000 ticks")
        assert writer.poll() is None, writer.stderr.read()
        files = mapped_files(writer.pid)
    finally:
        writer.send_signal(signal.SIGTERM)
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert any("_multiarray_umath" in path for path in files)  # the maps do show extension modules (numpy's)
    assert [path for path in files if "numba" in path or "llvmlite" in path] == []
    never = {"numba", "llvmlite"} | ({"pandas", "pyarrow"} if store_url.startswith("clickhouse") else set())
    assert out.splitlines()[-1].startswith("imported:")
    assert set(out.splitlines()[-1].split()[1:]) & never == set()
    store = open_store(store_url)
    store.connect()
    try:
        assert store.execute(f"SELECT count(), uniqExact(seq) FROM {parse(store_url).database}.ticks") == [(1000, 1000)]
    finally:
        store.close()
