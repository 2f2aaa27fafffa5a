"""Shared memory: SPSC rings of fixed-size records, record dtypes, the symbol directory.

Importing this package also points Numba's on-disk cache at a directory named
after a fingerprint of the source of the packages that hold Numba kernels
(shm/ and aggregator/: a kernel may only inline code from these, as the
import directions keep every other package out of the aggregator), so an edit
elsewhere (feeds, writer, bench, ...) keeps the compiled kernels. Numba checks only the source file
of the function it caches, so a kernel that inlines code from another module
(the aggregator inlines the feature kernels) would otherwise keep running old
code after an upgrade. Set NUMBA_CACHE_DIR to choose the directory yourself.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


_FINGERPRINTED = ("shm", "aggregator")  # the packages with Numba kernels (tests/unit/test_import_directions.py)


def _source_fingerprint() -> str:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=8)
    for package in _FINGERPRINTED:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


if "NUMBA_CACHE_DIR" not in os.environ:
    _cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tickagg" / f"numba-{_source_fingerprint()}"
    os.environ["NUMBA_CACHE_DIR"] = str(_cache)
    if "numba" in sys.modules:  # imported before us: tell its config directly
        sys.modules["numba"].config.CACHE_DIR = str(_cache)
