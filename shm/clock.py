"""``now_ns()``: the wall clock in ns from inside Numba kernels.

The same clock as ``time.time_ns()`` (CLOCK_REALTIME), so stamps taken in
Python and in kernels compare directly. It calls libc's ``clock_gettime`` by
symbol name (resolved when the code is loaded), which keeps kernels that use
it cacheable (``cache=True``), unlike a ctypes function pointer. It costs
about as much as ``time.time_ns()`` without the Python call (vDSO, ~20 ns).
"""
from __future__ import annotations

import llvmlite.ir as ir
import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1


def _clock_codegen(clock_id: int):
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        timespec = ir.ArrayType(i64, 2)
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32), timespec.as_pointer()])
        clock_gettime = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        slot = cgutils.alloca_once(builder, timespec)
        builder.call(clock_gettime, [ir.Constant(ir.IntType(32), clock_id), slot])
        zero = ir.Constant(ir.IntType(32), 0)
        seconds = builder.load(builder.gep(slot, [zero, zero]))
        nanos = builder.load(builder.gep(slot, [zero, ir.Constant(ir.IntType(32), 1)]))
        return builder.add(builder.mul(seconds, ir.Constant(i64, 1_000_000_000)), nanos)

    return codegen


@intrinsic
def _realtime_ns(typingctx):
    return types.int64(), _clock_codegen(CLOCK_REALTIME)


@intrinsic
def _monotonic_ns(typingctx):
    return types.int64(), _clock_codegen(CLOCK_MONOTONIC)


@numba.njit(cache=True, inline="always")
def now_ns() -> int:
    """Wall-clock ns since the epoch, like ``time.time_ns()``."""
    return _realtime_ns()


@numba.njit(cache=True, inline="always")
def monotonic_ns() -> int:
    """CLOCK_MONOTONIC ns, like ``time.monotonic_ns()`` (system-wide, never steps)."""
    return _monotonic_ns()


@intrinsic
def _usleep(typingctx, microseconds):
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32)])
        usleep = cgutils.get_or_insert_function(builder.module, fnty, "usleep")
        value = context.cast(builder, args[0], signature.args[0], types.int32)
        builder.call(usleep, [value])
        return context.get_dummy_value()

    return types.void(microseconds), codegen


@numba.njit(cache=True)
def sleep_us(microseconds: int) -> None:
    """Sleep from inside a kernel (libc ``usleep``); the kernel must be ``nogil`` for other threads to run."""
    _usleep(microseconds)
