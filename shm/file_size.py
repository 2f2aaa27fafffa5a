"""``file_size(fd)``: a file's size from inside a Numba kernel (libc ``fstat``), -1 if it fails.

A ring file cut short under a process turns its next access past the new end
into a SIGBUS, so a long-running kernel that reads or writes rings compares
their sizes with the ones validated at attach every few tens of milliseconds
and returns to Python on a difference (aggregator/poll.py), which then lets
the ring go or stops with the reason (shm/ring_watch.py). One call costs one
syscall (~1 µs), no Python. ``fstat`` is called by symbol name (resolved when
the code is loaded, like shm/clock.py's ``clock_gettime``), so the kernels
stay cacheable. ``st_size`` sits at byte 48 of ``struct stat`` on x86-64 and
aarch64 Linux; the buffer is larger than either struct.
"""
from __future__ import annotations

import llvmlite.ir as ir
import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

STAT_WORDS = 32  # 256 bytes: struct stat is 144 (x86-64) or 128 (aarch64)
ST_SIZE_WORD = 6  # byte 48


@intrinsic
def _fstat_size(typingctx, fd):
    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        buffer = cgutils.alloca_once(builder, ir.ArrayType(i64, STAT_WORDS))
        fnty = ir.FunctionType(i32, [i32, i64.as_pointer()])
        fstat = cgutils.get_or_insert_function(builder.module, fnty, "fstat")
        words = builder.bitcast(buffer, i64.as_pointer())
        rc = builder.call(fstat, [context.cast(builder, args[0], signature.args[0], types.int32), words])
        size = builder.load(builder.gep(words, [ir.Constant(i64, ST_SIZE_WORD)]))
        ok = builder.icmp_signed("==", rc, ir.Constant(i32, 0))
        return builder.select(ok, size, ir.Constant(i64, -1))

    return types.int64(fd), codegen


@numba.njit(cache=True, nogil=True)
def file_size(fd: int) -> int:
    """The size in bytes of the file open as ``fd`` (``os.fstat(fd).st_size``), or -1."""
    return _fstat_size(fd)


@numba.njit(cache=True, nogil=True)
def first_changed(fds, sizes) -> int:
    """The index of the first file in ``fds`` whose size is no longer ``sizes[i]``, or -1."""
    for i in range(fds.size):
        if file_size(fds[i]) != sizes[i]:
            return i
    return -1
