"""Acquire loads and release stores on u64 array elements, for Numba kernels.

Numba has no atomics of its own, so these intrinsics emit LLVM's atomic
``load acquire`` / ``store release`` directly. That is what makes the ring
correct on weakly ordered CPUs (aarch64 compiles them to ``ldar``/``stlr``),
and it also stops the compiler from moving plain loads and stores across them
(on x86 they compile to ordinary ``mov``s: x86's TSO already orders them).

- ``store_release(a, i, v)``: every load and store the thread did before
  becomes visible to another thread no later than ``a[i] == v`` does.
- ``load_acquire(a, i)``: no load or store the thread does after it can be
  performed before it; paired with a release store of the value it reads,
  everything written before that store is visible.
"""
from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _element_pointer(context, builder, array_type, array_value, index_value, index_type):
    array = context.make_array(array_type)(context, builder, array_value)
    index = context.cast(builder, index_value, index_type, types.intp)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index])


@intrinsic
def load_acquire(typingctx, array, index):
    """``array[index]`` read with acquire ordering (u64/i64 arrays)."""
    if not (isinstance(array, types.Array) and array.dtype in (types.uint64, types.int64)):
        return None
    sig = array.dtype(array, index)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def store_release(typingctx, array, index, value):
    """``array[index] = value`` with release ordering (u64/i64 arrays)."""
    if not (isinstance(array, types.Array) and array.dtype in (types.uint64, types.int64)):
        return None
    sig = types.void(array, index, value)

    def codegen(context, builder, signature, args):
        array_type, index_type, value_type = signature.args
        ptr = _element_pointer(context, builder, array_type, args[0], args[1], index_type)
        stored = context.cast(builder, args[2], value_type, array_type.dtype)
        builder.store_atomic(stored, ptr, "release", 8)
        return context.get_dummy_value()

    return sig, codegen
