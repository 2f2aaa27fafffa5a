"""The feeds' compiled scanners (feeds/_scan.c), where the install could build them.

``scan``: the extension module, or None: not built (no C compiler or Python headers when the package was
installed; ``pip install -e .`` builds it, as ``make setup`` does) or turned off with ``TICKAGG_PURE_PYTHON=1``
(the pure-Python parsers then take every frame: the same trades, slower). A parser asks ``scan`` first and
parses in Python whatever it says None to, so a frame's outcome never depends on which is used
(tests/unit/test_compiled_scan.py).
"""
from __future__ import annotations

import os

PURE_PYTHON_ENV = "TICKAGG_PURE_PYTHON"


def _load():
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return None
    try:
        from feeds import _scan
    except ImportError:
        return None
    return _scan


scan = _load()
