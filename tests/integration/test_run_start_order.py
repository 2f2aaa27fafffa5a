"""`tickagg run` starts the feeds only once the writer reads out.ticks (tickagg/start_gate.py), so that ring never
has to hold the writer's start: here the writer is slow to attach (its store accepts the connection and never
answers, so it waits for its timeout before it spills), and no feed may have started before it did. The
supervisor, asked for no status line, never imports NumPy (its gate reads the ring plainly)."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest

from shm import segment
from shm.ring import MONITOR, Ring, RingError, ring_name


def _writer_reads(group: str) -> bool:
    try:
        with Ring(ring_name(group, "out.ticks"), MONITOR, numba=False) as ring:
            return bool(ring.status().get("consumer_alive"))
    except RingError:
        return False


@pytest.mark.slow
def test_the_feeds_start_after_the_writer_reads_out_ticks(group, tmp_path):
    with socket.socket() as silent:  # a store that takes the connection and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        run = subprocess.Popen(
            [sys.executable, "-m", "tickagg.cli", "run", "--simulate", "--exchanges", "binance,okx", "--rate", "100",
             "--group", group, "--data-dir", str(tmp_path / "data"), "--status-every", "3600", "--store",
             f"clickhouse://writer@127.0.0.1:{port}/tickagg"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            seen_out_ticks = False
            deadline = time.monotonic() + 240
            while True:  # the feed rings appear when the feeds start; then the writer must already read out.ticks
                assert run.poll() is None and time.monotonic() < deadline, "no feed started"
                seen_out_ticks = seen_out_ticks or segment.exists(ring_name(group, "out.ticks"))
                feeds = [venue for venue in ("binance", "okx") if segment.exists(ring_name(group, venue))]
                if feeds:
                    assert _writer_reads(group), f"{feeds} started before the writer read out.ticks"
                    # the gate read out.ticks without NumPy, and no status line was asked for: the supervisor
                    # never imported it (~10 MB of its PSS)
                    with open(f"/proc/{run.pid}/maps") as maps:
                        numpy_maps = [line.split()[-1] for line in maps if "/numpy" in line]
                    assert not numpy_maps, f"the supervisor maps NumPy: {sorted(set(numpy_maps))[:3]}"
                    break
                time.sleep(0.02)
            assert seen_out_ticks  # the feeds did wait: out.ticks was there without a reader first
        finally:
            silent.close()  # resets the writer's connection: its stop need not wait out its store timeout (10 s)
            run.send_signal(signal.SIGINT)
            output = run.communicate(timeout=120)[0]
    assert run.returncode == 0, output[-3000:]
