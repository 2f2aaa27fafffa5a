"""Give back the resident pages of a shared library a process no longer runs: its clean, file-backed pages.

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
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
MADV_DONTNEED = 4


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
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return 0
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    dropped = 0
    for start, end, rss_kb in clean_mappings(name_part):
        if libc.madvise(start, end - start, MADV_DONTNEED) == 0:
            dropped += rss_kb
        else:
            log.debug("madvise of %x-%x failed: errno %d", start, end, ctypes.get_errno())
    return dropped
