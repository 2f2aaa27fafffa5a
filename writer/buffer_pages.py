"""Giving back the memory of a stored batch of big records (a minute close's feature rows).

A batch of 2,378 feature rows fills 26 MB of its ring's buffer once a minute, and
encoding it for the store allocates as much again. Without this the writer
would keep both resident between closes: the buffer's pages because they were
written once, the encoding's because glibc raises its mmap threshold after
freeing a big block and keeps later ones on the heap. ``give_back`` tells the
kernel the buffer's whole pages are not needed (``madvise(MADV_DONTNEED)``: they
read as zeros when next written, which a buffer whose batch is stored allows)
and gives the heap's free pages back (``malloc_trim(0)``). Linux; elsewhere it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

MADV_DONTNEED = 4
PAGE = 4096


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def give_back(array: np.ndarray) -> int:
    """The whole pages of ``array``'s memory go back to the system (their content is no longer needed), then
    the heap's free pages; bytes given back by the first."""
    if _LIBC is None or not array.nbytes:
        return 0
    start = -(-array.ctypes.data // PAGE) * PAGE
    end = (array.ctypes.data + array.nbytes) // PAGE * PAGE
    given = end - start if end > start and _LIBC.madvise(start, end - start, MADV_DONTNEED) == 0 else 0
    _LIBC.malloc_trim(0)
    return given
