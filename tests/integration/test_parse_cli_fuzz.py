"""`tickagg parse` over mutated frames (a subprocess per venue): an error line per bad frame on stderr,
never a traceback, the good frames after the bad ones still printed, exit status 1 when a line was bad."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz import Mutator
from samples import assert_ticks, frames_of, sample_lines

from feeds.venues import VENUES

REPO = Path(__file__).resolve().parents[2]
FRAMES = 2000


def _parse(name: str, stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg.cli", "parse", name], input=stdin, capture_output=True,
                          cwd=REPO, timeout=120, check=False)


@pytest.mark.parametrize("name", sorted(VENUES))
def test_mutated_frames_give_error_lines_and_the_good_ones_still_come_out(name: str) -> None:
    samples = sample_lines(name)
    good = [frame.encode() for sample in samples for frame in frames_of(sample)]
    mutator = Mutator(seed=7 + sorted(VENUES).index(name), unchanged_share=0.0)
    mutated = [mutator.mutate(mutator.rng.choice(good)).replace(b"\n", b" ").replace(b"\r", b" ")
               for _ in range(FRAMES)]
    lines = good + mutated + good  # the recorded frames again after the storm: they must still parse
    result = _parse(name, b"\n".join(lines) + b"\n")
    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    assert result.returncode == 1  # some lines were bad
    errors = stderr.splitlines()
    assert len(errors) > FRAMES // 4
    bad_lines = {int(line.split(":")[0].split()[1]) for line in errors}
    assert all(line.startswith("line ") for line in errors)
    assert not bad_lines & (set(range(1, len(good) + 1)) | set(range(len(lines) - len(good) + 1, len(lines) + 1)))
    ticks = [json.loads(line) for line in result.stdout.decode().splitlines()]
    expected = [tick for sample in samples for tick in sample["expected"]]
    assert_ticks(ticks[-len(expected):], expected, f"tickagg parse {name} after {FRAMES} mutated frames")
    assert_ticks(ticks[:len(expected)], expected, f"tickagg parse {name} before them")


def test_exit_status_is_zero_when_every_frame_is_good() -> None:
    samples = sample_lines("okx")
    result = _parse("okx", "\n".join(frame for sample in samples for frame in frames_of(sample)).encode())
    assert result.returncode == 0 and result.stderr == b""
