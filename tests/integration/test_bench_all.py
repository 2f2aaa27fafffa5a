"""`tickagg bench all --quick --out DIR` end to end on the two fastest benches, one of them made to fail:
one JSON document with the machine, versions, revision and each bench's figures (or its error), and a PNG."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest


@pytest.mark.slow
def test_bench_all_writes_one_document_and_a_png(tmp_path):
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "tickagg", "bench", "all", "--only", "features,ring,feed", "--quick",
         "--args", "ring=--seconds 0", "--out", str(out)],  # ring is refused by its own argument check
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 1, done.stderr  # a bench failed: recorded, the others still ran
    assert "failed: ring" in done.stderr
    json_files, png_files = sorted(out.glob("bench-*.json")), sorted(out.glob("bench-*.png"))
    assert len(json_files) == len(png_files) == 1 and json_files[0].stem == png_files[0].stem
    assert done.stdout.split() == [str(json_files[0]), str(png_files[0])]
    doc = orjson.loads(json_files[0].read_bytes())
    assert set(doc) == {"machine", "python", "numba", "numpy", "git_revision", "git_dirty", "started_at", "settings", "benches"}
    assert set(doc["machine"]) == {"cpu_model", "cores", "memory_gb", "kernel"} and doc["machine"]["cores"] >= 1
    assert doc["numba"] and doc["numpy"] and doc["python"].count(".") == 2
    revision = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    assert doc["git_revision"] == revision and json_files[0].name.startswith(f"bench-{(revision or 'norev')[:12]}-")
    assert list(doc["benches"]) == ["features", "ring", "feed"]
    assert "--seconds" in doc["benches"]["ring"]["error"] and set(doc["benches"]["ring"]) == {"error", "seconds"}
    assert doc["benches"]["features"]["symbols"] == 200 and doc["benches"]["features"]["ms_per_bar_all_symbols"] > 0
    feed = doc["benches"]["feed"]
    assert feed["frames_per_s"] > 0 and feed["drops"] == 2 and feed["lost"] == 0
    assert 0 <= feed["ring_dropped_in_window"] <= feed["ring_dropped"]  # the window's share of the ring's drops
    assert png_files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
