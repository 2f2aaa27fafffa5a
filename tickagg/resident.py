"""Resident memory the aggregator need not keep once its kernels are loaded (``settle``), and the pages of a
shared library a process no longer runs (``drop_clean``: its clean, file-backed pages).

The aggregator runs LLVM (llvmlite's ``libllvmlite.so``) only while it loads its
kernels from Numba's cache; the kernels then run from their own memory. The
library's code stays mapped and resident, about 70 MB of the aggregator's RSS
(and PSS, whole on a machine where no other process maps it). ``drop_clean``
tells the kernel those pages are not needed now (``madvise(MADV_DONTNEED)``):
they stay in the page cache, reclaimable, and come back on a minor fault if
LLVM ever runs again (a kernel compiled later). Only mappings without a page
of their own are touched (no copy-on-write copy, such as relocated data: those
would be lost), so the process runs exactly as before. Linux only; elsewhere,
or if /proc cannot be read, it does nothing.

``settle`` (`tickagg aggregate`, once its kernels ran, before serving) does three
more things, measured with 2,378 symbols (PSS from outside):

- 4 KiB pages for the big state arrays not touched yet (``small_pages``).
  NumPy asks for transparent huge pages on every allocation of 4 MiB or more,
  so the first write anywhere in a 2 MiB span makes all of it resident. The
  feature history (32 KiB per symbol: 256 bars of 128 B, one row written per
  bar) was resident whole from the first minute close, 74 MB, instead of the
  one page per symbol written so far, 9 MB; it still grows a page per symbol
  every 32 minutes, to the same 74 MB after 256 minutes. The bars, features
  and signals are the same: only the page size differs.
- Numba keeps, for each kernel library loaded from its cache, the LLVM module
  a kernel compiled later would link against (``_shared_module``, parsed
  from the cache's bitcode): ~18 MB of LLVM's heap for the aggregator's 41
  libraries. ``compact_linking_modules`` keeps only that bitcode, compressed,
  and parses it again if a compile ever asks for it.
- ``malloc_trim(0)`` once: the heap's free top goes back (a few MB).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import zlib

log = logging.getLogger(__name__)
MADV_DONTNEED, MADV_NOHUGEPAGE = 4, 15
PAGE = 4096
SMALL_PAGES_FROM = 2 << 20  # an array smaller than a huge page cannot be made resident by a neighbour's write


def settle(*roots) -> dict[str, int]:
    """After the kernels ran once, before serving: 4 KiB pages for the big untouched arrays under ``roots``
    (nested tuples of arrays, e.g. the aggregator's state), Numba's linking modules kept as bitcode, the
    heap's free top given back. MB (or count) for each, for the log."""
    return {"small_pages_mb": round(small_pages(*roots) / 2**20), "linking_modules": compact_linking_modules(),
            "heap_trimmed": _libc_call("malloc_trim", 0)}


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _libc_call(name: str, *args) -> int:
    libc = _libc()
    function = getattr(libc, name, None) if libc is not None else None
    return int(function(*args)) if function is not None else 0


def _arrays(root, found: list) -> list:
    import numpy as np

    if isinstance(root, np.ndarray):
        found.append(root)
    elif isinstance(root, (tuple, list)):
        for item in root:
            _arrays(item, found)
    return found


def small_pages(*roots) -> int:
    """``madvise(MADV_NOHUGEPAGE)`` over every array of at least 2 MiB under ``roots``: a page written later
    is one 4 KiB page, not the 2 MiB around it. Pages already resident stay as they are. Bytes covered."""
    libc = _libc()
    if libc is None:
        return 0
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    covered = 0
    for array in _arrays(roots, []):
        if array.nbytes < SMALL_PAGES_FROM:
            continue
        start = -(-array.ctypes.data // PAGE) * PAGE
        end = (array.ctypes.data + array.nbytes) // PAGE * PAGE
        if end > start and libc.madvise(start, end - start, MADV_NOHUGEPAGE) == 0:
            covered += end - start
    return covered


def compact_linking_modules() -> int:
    """Keep each loaded Numba library's linking module as compressed bitcode only (parsed again on a later
    compile that links it); the number of libraries compacted (0: Numba not loaded, or its internals differ)."""
    import sys

    codegen = sys.modules.get("numba.core.codegen")
    library_class = getattr(codegen, "CPUCodeLibrary", None)
    if library_class is None or not hasattr(library_class, "_get_module_for_linking"):
        return 0
    _restore_on_demand(library_class)
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # frozen objects (the aggregator freezes what it loaded) are not in gc.get_objects()
    libraries = [obj for obj in gc.get_objects() if library_class in type(obj).__mro__]  # not isinstance: an ABC
    for library in libraries:
        if getattr(library, "_shared_module", None) is not None:
            library._tickagg_bitcode = zlib.compress(library._shared_module.as_bitcode(), 1)
            library._shared_module = None
    compacted = sum("_tickagg_bitcode" in library.__dict__ for library in libraries)
    del libraries
    if frozen:
        gc.freeze()
    return compacted


def _restore_on_demand(library_class) -> None:
    """Numba asks ``_get_module_for_linking`` for a library's module (and builds one from the library's own,
    empty for a library loaded from the cache, if ``_shared_module`` is None): parse the kept bitcode first."""
    if getattr(library_class, "_tickagg_restores", False):
        return
    from llvmlite import binding

    original = library_class._get_module_for_linking

    def _get_module_for_linking(self):
        bitcode = self.__dict__.pop("_tickagg_bitcode", None)
        if bitcode is not None and self._shared_module is None:
            self._shared_module = binding.parse_bitcode(zlib.decompress(bitcode))
        return original(self)

    library_class._get_module_for_linking = _get_module_for_linking
    library_class._tickagg_restores = True


def clean_mappings(name_part: str, smaps: str = "/proc/self/smaps") -> list[tuple[int, int, int]]:
    """(start, end, resident kB) of each mapping of a file whose path contains ``name_part`` and that holds no
    page of its own (Anonymous and Swap 0: no copy-on-write copy, e.g. relocated data), so dropping its pages
    loses nothing: each is the file's page (dirty ones too: they stay in the page cache)."""
    found, current, fields = [], None, {}
    try:
        with open(smaps) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for line in [*lines, "0-0 ---p 0 0:0 0 <end>"]:
        parts = line.split()
        if parts and "-" in parts[0] and not parts[0].endswith(":"):
            if current is not None and not (fields.get("Anonymous", 1) or fields.get("Swap", 0)) and fields.get("Rss"):
                found.append((*current, fields["Rss"]))
            path = parts[5] if len(parts) > 5 else ""
            start, end = (int(x, 16) for x in parts[0].split("-"))
            current, fields = ((start, end) if name_part in path else None), {}
        elif current is not None and len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            fields[parts[0][:-1]] = int(parts[1])
    return found


def drop_clean(name_part: str = "libllvmlite") -> int:
    """Drop this process's resident pages of the clean mappings of ``name_part``; kB dropped (0: none, or not
    possible here)."""
    libc = _libc()
    if libc is None:
        return 0
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    dropped = 0
    for start, end, rss_kb in clean_mappings(name_part):
        if libc.madvise(start, end - start, MADV_DONTNEED) == 0:
            dropped += rss_kb
        else:
            log.debug("madvise of %x-%x failed: errno %d", start, end, ctypes.get_errno())
    return dropped
