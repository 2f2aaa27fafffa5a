"""The feeds' compiled parts, where the install could build them: the frame scanners (``scan``: feeds/_scan.c)
and the tick staging loop (``stage``: feeds/_stage.c).

Each is the extension module, or None: not built (no C compiler or Python headers when the package was
installed; ``pip install -e .`` builds them, as ``make setup`` does) or turned off with ``TICKAGG_PURE_PYTHON=1``
(the pure-Python paths then take every frame: the same trades and records, slower). A parser asks ``scan`` first
and parses in Python whatever it says None to; the TickWriter lets ``stage`` pack the frames in which nothing
needs a decision and loops in Python from the first one that does; so an outcome never depends on which is
used (tests/unit/test_compiled_scan.py, tests/unit/test_compiled_stage.py).
"""
from __future__ import annotations

import importlib
import os

PURE_PYTHON_ENV = "TICKAGG_PURE_PYTHON"


def _load(name: str):
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return None
    try:
        return importlib.import_module(f"feeds.{name}")
    except ImportError:
        return None


scan = _load("_scan")
stage = _load("_stage")
