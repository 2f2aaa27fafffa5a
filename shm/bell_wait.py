"""The consumer's side of the doorbell (shm/doorbell.py), inside Numba: sleep until a producer pushes.

``sleep_on_bells`` arms ``asleep`` on every input ring, fences, gives up if a
head already moved, else sleeps in one ``futex_waitv`` on every ring's bell
with a timeout, and disarms. libc's ``syscall`` and ``__errno_location`` are
called by symbol name (like shm/clock.py's ``clock_gettime``), so the kernels
stay cacheable. The outcome is counted in ``counts`` (``B_*``); a wait the
kernel refuses (ENOSYS before Linux 5.16, a seccomp filter, EFAULT ...)
leaves its errno in ``counts[B_ERRNO]`` and the caller falls back to timed naps.
"""
from __future__ import annotations

import llvmlite.ir as ir
import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from shm.atomics import load_acquire, store_release
from shm.clock import CLOCK_MONOTONIC, monotonic_ns
from shm.doorbell import FUTEX_32, SYS_FUTEX_WAITV, WORD_MASK
from shm.header import W_ASLEEP, W_BELL, W_HEAD

B_WAKES, B_TIMEOUTS, B_MISSED, B_READY, B_ERRNO = range(5)  # counts: woken, timed out, timed out with a tick
BELL_COUNTS = 5  # waiting (a missed wake), armed but a tick was already there, the errno that stopped the bell
WOKEN, TIMED_OUT, READY, INTERRUPTED, FAILED = range(5)
EAGAIN, EINTR, ETIMEDOUT = 11, 4, 110
WAITER_WORDS = 3  # struct futex_waitv: u64 val, u64 uaddr, u32 flags + u32 reserved


@intrinsic
def _syscall5(typingctx, number, a, b, c, d, e):
    """libc ``syscall(number, a, b, c, d, e)``: the result, or -errno when it failed."""
    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        values = [context.cast(builder, value, kind, types.int64) for value, kind in zip(args, signature.args)]
        syscall = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64], var_arg=True), "syscall")
        result = builder.call(syscall, values)
        errno_location = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32.as_pointer(), []),
                                                        "__errno_location")
        errno = builder.sext(builder.load(builder.call(errno_location, [])), i64)
        failed = builder.icmp_signed("==", result, ir.Constant(i64, -1))
        return builder.select(failed, builder.neg(errno), result)

    return types.int64(number, a, b, c, d, e), codegen


@intrinsic
def full_fence(typingctx):
    """A sequentially consistent fence (x86: ``mfence``): the ``asleep`` stores before it are visible before
    any load after it."""
    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


def new_waiters(addresses: list[int], slots: int) -> np.ndarray:
    """The ``futex_waitv`` array for ``slots`` rings, the first ``len(addresses)`` filled (``doorbell.bell_address``)."""
    waiters = np.zeros(slots * WAITER_WORDS, np.int64)
    for r, address in enumerate(addresses):
        waiters[r * WAITER_WORDS + 1] = address
        waiters[r * WAITER_WORDS + 2] = FUTEX_32
    return waiters


@numba.njit(cache=True, nogil=True)
def _any_pushed(headers, count, positions) -> bool:
    for r in range(count):
        if load_acquire(headers[r], W_HEAD) > positions[r]:  # a head behind the position is waited out (kernels.sync)
            return True
    return False


@numba.njit(cache=True, nogil=True)
def sleep_on_bells(headers, count, positions, waiters, deadline, wait_ns, counts) -> int:
    """Sleep up to ``wait_ns`` unless a ring's head is already past ``positions``; wake when a producer rings.

    ``headers``: the input rings' header arrays (the first ``count`` used); ``waiters``: ``new_waiters`` for them;
    ``deadline``: two int64 words of scratch (the absolute timespec). Returns WOKEN, TIMED_OUT, READY (no sleep),
    INTERRUPTED (a signal: return to Python) or FAILED (``counts[B_ERRNO]`` set: use timed naps from now on).
    """
    for r in range(count):
        store_release(headers[r], W_ASLEEP, 1)
    full_fence()
    for r in range(count):
        waiters[r * WAITER_WORDS] = load_acquire(headers[r], W_BELL) & WORD_MASK
    if _any_pushed(headers, count, positions):
        counts[B_READY] += 1
        outcome = READY
    else:
        until = monotonic_ns() + wait_ns
        deadline[0] = until // 1_000_000_000
        deadline[1] = until % 1_000_000_000
        result = _syscall5(SYS_FUTEX_WAITV, waiters.ctypes.data, count, 0, deadline.ctypes.data, CLOCK_MONOTONIC)
        if result >= 0 or result == -EAGAIN:  # woken, or rung between our read of the bell and the wait
            counts[B_WAKES] += 1
            outcome = WOKEN
        elif result == -ETIMEDOUT:
            counts[B_TIMEOUTS] += 1
            if _any_pushed(headers, count, positions):  # pushed without a ring (see shm/doorbell.py)
                counts[B_MISSED] += 1
            outcome = TIMED_OUT
        elif result == -EINTR:
            outcome = INTERRUPTED
        else:
            counts[B_ERRNO] = -result
            outcome = FAILED
    for r in range(count):
        store_release(headers[r], W_ASLEEP, 0)
    return outcome
