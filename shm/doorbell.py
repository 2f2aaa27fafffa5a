"""The doorbell: a consumer sleeps in the kernel until a producer pushes, instead of waking to look.

Two words of each ring's header (shm/header.py) make it, so nothing more is
created, attached or checked: ``asleep`` (written by the consumer, on the
tail's cache line, which the producer loads every push anyway) and ``bell``
(bumped by the producer; its low 32 bits are a futex word). Only the
aggregator sleeps on its input rings' bells (aggregator/poll.py, Numba side:
shm/bell_wait.py); other consumers never set ``asleep``.

Consumer (one wait over all its input rings, ``futex_waitv``, Linux >= 5.16)::

    asleep = 1 on every ring; full fence
    read every bell; if any head moved past the consumer's position: no sleep
    futex_waitv(every bell == the value read, timeout); asleep = 0

Producer (``ring``; the only cost on the busy path is the ``asleep`` load)::

    publish head; if asleep: bell += 1; FUTEX_WAKE(bell)

A producer that bumps the bell after the consumer read it makes the wait
return at once (the value differs); one that wakes after the consumer queued
wakes it. The one window left: x86 may let the producer's load of ``asleep``
pass its own head store (store buffer; Python has no fence to prevent it), so
a push that lands in the same few nanoseconds as the consumer arming its flag
may ring nobody. The consumer then sees the tick when its wait times out: a
missed wake costs at most that timeout (aggregator/pace.py: 150 ms), never a
tick. A consumer killed while asleep leaves ``asleep`` set: its producers make
a futex call per push (~1 µs, no one to wake) until the next consumer clears
it when it attaches. The shared (not PRIVATE) futex works across processes:
its key is the ring file and the offset, whatever the mapping's address.

Header words are never trusted: ``bell`` is masked to 32 bits before use and
any value of either word costs at most a spurious wake or futex call.
"""
from __future__ import annotations

import ctypes
import platform

from shm.header import W_BELL

SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}.get(platform.machine().lower())
SYS_FUTEX_WAITV = 449  # the same number on every architecture (Linux 5.16)
FUTEX_WAKE = 1
FUTEX_32 = 2  # futex_waitv flags: a 32-bit word, shared (no FUTEX_PRIVATE_FLAG)
WORD_MASK = 0xFFFF_FFFF
WAKE_ALL = 0x7FFF_FFFF

_syscall = None


def _libc_syscall():
    global _syscall
    if _syscall is None:
        function = ctypes.CDLL(None, use_errno=True).syscall
        function.restype = ctypes.c_long
        function.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_long]
        _syscall = function
    return _syscall


def bell_address(header) -> int:
    """The address of ``header``'s bell word in this process (``header``: the ring's int64 header array)."""
    return header.ctypes.data + W_BELL * 8


def ring(words, address: int) -> None:
    """Bump the bell in ``words`` (the ring's header: int64 memoryview or array) and wake whoever sleeps on it
    (``address``: ``bell_address``). A bad address makes the call fail (EFAULT), never a signal."""
    words[W_BELL] = (int(words[W_BELL]) + 1) & WORD_MASK  # the only writer; masked: garbage never overflows
    if SYS_FUTEX is not None:
        _libc_syscall()(SYS_FUTEX, address, FUTEX_WAKE, WAKE_ALL)
