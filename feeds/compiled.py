"""The feeds' compiled parts, where the install could build them: the frame scanners (``scan``: feeds/_scan.c),
the tick staging loop (``stage``: feeds/_stage.c) and the read loop that drives both (``pump``: feeds/_pump.c,
feeds/pumped.py).

Each is the extension module, or None: not built (no C compiler or Python headers when the package was
installed; ``pip install -e .`` builds them, as ``make setup`` does) or turned off with ``TICKAGG_PURE_PYTHON=1``
(the pure-Python paths then take every frame: the same trades and records, slower). A parser asks ``scan`` first
and parses in Python whatever it says None to; the TickWriter lets ``stage`` pack the frames in which nothing
needs a decision and loops in Python from the first one that does; so an outcome never depends on which is
used (tests/unit/test_compiled_scan.py, tests/unit/test_compiled_stage.py). The read loop hands every read it
has a doubt about back to the Python reader untouched (tests/unit/test_pump.py). ``pump`` needs the other two
and the ring header layout it was built for (shm/header.py): else None; ``TICKAGG_PYTHON_READS=1`` turns it
alone off (a comparison, or a way around it should it misbehave).
"""
from __future__ import annotations

import importlib
import os

PURE_PYTHON_ENV = "TICKAGG_PURE_PYTHON"
PYTHON_READS_ENV = "TICKAGG_PYTHON_READS"  # 1: the read loop stays in Python, the scanners and staging compiled


def _load(name: str):
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return None
    try:
        return importlib.import_module(f"feeds.{name}")
    except ImportError:
        return None


def _matches_header(module) -> bool:
    from shm import header

    return all(getattr(module, name) == getattr(header, name) for name in
               ("HEADER_BYTES", "W_HEAD", "W_DROPPED", "W_PRODUCER_HB", "W_PRODUCER_RESYNCS", "W_BELL", "W_TAIL",
                "W_ASLEEP"))


scan = _load("_scan")
stage = _load("_stage")
python_reads = os.environ.get(PYTHON_READS_ENV, "") not in ("", "0")
pump = _load("_pump") if scan is not None and stage is not None and not python_reads else None
if pump is not None and not _matches_header(pump):
    pump = None
