"""Attaching to a ring's file: create it if asked, map it, and trust it only once its layout is checked.

``attach`` maps ``tickagg.<group>.<ring>`` (creating it first, fully
initialised, if a capacity is given and it is missing) and checks every
layout word against the others and the file's real size (shm/ring_check.py).
A producer that finds a ring damaged, foreign, or of another record layout
replaces it only if no live process holds it and (for another layout)
nothing in it is unread (``_remove_if_abandoned``); which layouts count as
the same bytes: shm/layouts.py. Roles are claimed afterwards (shm/ring_role.py).

No NumPy here: the records are named by a *form*, anything with ``itemsize``,
``description``, ``fingerprint`` and ``same_bytes(stored_fingerprint)``: a
``RecordForm`` (shm/record_forms.py) for a feed, which must never import NumPy,
or a dtype's ``DtypeForm`` (shm/layouts.py) for the NumPy ``Ring``; the header
words are read through a ``memoryview`` of the mapping (``H.header_words``).
"""
from __future__ import annotations

import logging
import mmap
import os
import time

from shm import header as H
from shm import ring_check, segment
from shm.ring_errors import RingDamagedError, RingError, RingLayoutError, RingOtherLayoutError, RingRefusedError

log = logging.getLogger("shm.ring")  # the ring's logger, as before this module was split off


def attach(name: str, form, capacity: int | None, may_replace: bool, read_form=None) -> tuple[int, mmap.mmap, object]:
    """Map ring ``name`` (creating it if ``capacity`` is given and it is missing) and check its layout; return
    its file descriptor, mapping and record form.

    ``form`` must match the ring's record layout (None: take the ring's, ``read_form(stored fingerprint,
    stored description)``, which raises ValueError, TypeError or IndexError for a description it cannot read).
    ``may_replace``: a ring that no live process holds is unlinked and created anew if it is damaged or
    foreign (shm/ring_check.py), or of another layout (e.g. left by another tickagg release) with nothing
    unread; otherwise the error says what is wrong and who holds it.
    """
    for attempt in (1, 2):
        if capacity is not None and not segment.exists(name):
            _check_new(form, capacity)
            segment.create(name, H.HEADER_BYTES + capacity * form.itemsize, _initialiser(form, capacity))
        try:
            fd, memory = segment.open_segment(name)
        except segment.SegmentMissingError as exc:
            raise RingError(f"{exc}; is its producer running in this group?") from None
        except segment.SegmentRefusedError as exc:  # another user's file, a link ...
            raise RingRefusedError(str(exc)) from None
        except (ValueError, OSError) as exc:  # an empty file cannot be mapped
            damaged = RingDamagedError(f"{segment.path_of(name)} cannot be mapped ({exc}): truncated?")
            if not may_replace or attempt == 2:
                raise damaged from None
            _replace_unmappable(name, damaged)
            continue
        # No local of this frame may hold a view of the mapping: the first attempt's exception, once logged, keeps
        # this frame alive, and a view would keep the mapping, and with it a role lock, alive after Ring.close.
        sized = False  # whether the file holds a whole header (else damaged: no words to read)
        try:
            size = _checked_size(name, fd, memory)
            sized = True
            return fd, memory, _checked_layout(name, memory, size, form, read_form)
        except (RingOtherLayoutError, RingDamagedError) as exc:
            if not may_replace or attempt == 2:
                release(fd, memory)
                raise
            try:
                _remove_if_abandoned(name, fd, memory if sized else None, exc)  # raises, saying why, if it stays
            finally:
                release(fd, memory)
        except BaseException:
            release(fd, memory)
            raise
    raise AssertionError("unreachable")


def release(fd: int, memory: mmap.mmap) -> None:
    """Unmap the ring and close its file, which gives up its role locks. Drop every view of the mapping first: a
    view left alive keeps the mapping, and with it the file and its locks, until the view goes."""
    try:
        memory.close()
    except BufferError:
        pass  # a caller still holds a view; the mapping goes with the process
    os.close(fd)  # releases the role lock


def _checked_size(name: str, fd: int, memory: mmap.mmap) -> int:
    """The file's size, once it can hold a ring header and is the size mapped."""
    size = os.fstat(fd).st_size
    problem = ring_check.file_problem(size) or (None if len(memory) == size else "changed size while attaching")
    if problem:
        raise RingDamagedError(f"{segment.path_of(name)} {problem}")
    return size


def _checked_layout(name: str, memory: mmap.mmap, size: int, form, read_form):
    """The ring's record form, once every layout word agrees with the others and with the file's real size
    (``size``: checked to hold a header)."""
    with H.header_words(memory) as words:
        return _checked_words(name, words, H.read_text(memory, H.DTYPE_TEXT), size, form, read_form)


def _checked_words(name: str, words, stored: str, size: int, form, read_form):
    path = segment.path_of(name)
    if words[H.W_MAGIC] != H.MAGIC:
        raise RingDamagedError(f"{path} {ring_check.header_problem(words, size)}")
    if words[H.W_VERSION] != H.VERSION:
        raise RingOtherLayoutError(f"{name} has layout version {words[H.W_VERSION]}, this tickagg reads version {H.VERSION}")
    if form is None:  # a monitor: the ring's own layout, under its current names if it is an alias
        try:
            form = read_form(int(words[H.W_FINGERPRINT]), stored)
        except (ValueError, TypeError, IndexError) as exc:
            raise RingDamagedError(f"{path} has an unreadable record description {stored[:60]!r} ({exc})") from None
    elif not form.same_bytes(int(words[H.W_FINGERPRINT])):
        raise RingOtherLayoutError(f"{name} holds other records: {_difference(stored, form.description)}")
    problem = ring_check.header_problem(words, size, form.itemsize)
    if problem:
        raise RingDamagedError(f"{path} {problem}")
    return form


def _remove_if_abandoned(name: str, fd: int, memory: mmap.mmap | None, exc: RingLayoutError) -> None:
    """Unlink ring ``name``, damaged or of another layout, if no live producer or consumer holds it and (for
    another layout) nothing in it is unread; both role locks are held meanwhile, so no one can claim it.
    Else raise ``exc`` saying why it stays. ``memory``: its mapping, None if the file cannot hold a header."""
    if memory is None:
        _remove_if_unheld(name, fd, None, exc)
        return
    with H.header_words(memory) as header:
        _remove_if_unheld(name, fd, header, exc)


def _remove_if_unheld(name: str, fd: int, header, exc: RingLayoutError) -> None:
    """``_remove_if_abandoned`` with the header's words (None: the file cannot hold a header)."""
    damaged = isinstance(exc, RingDamagedError)
    if not damaged and header[H.W_VERSION] != H.VERSION:  # head and tail may be elsewhere: leave it to the user
        raise RingOtherLayoutError(f"{exc}; remove it with `tickagg rings --remove GROUP` once drained")
    locked = [byte for byte in (H.PRODUCER_LOCK_BYTE, H.CONSUMER_LOCK_BYTE) if segment.try_lock(fd, byte)]
    try:
        if len(locked) < 2:
            if damaged:
                raise RingDamagedError(f"{exc}; {_holders(fd, header)} still uses it: stop it, or "
                                       "remove the ring with `tickagg rings --remove GROUP`")
            raise RingOtherLayoutError(f"{exc}; a live process still uses it (another tickagg release?)")
        unread = 0 if damaged else int(header[H.W_HEAD]) - int(header[H.W_TAIL])
        if unread > 0:
            raise RingOtherLayoutError(
                f"{exc}; it still holds {unread} records no consumer has read: drain them with the tickagg release "
                "that wrote them, or drop them with `tickagg rings --remove GROUP`")
        if _unlink_if_same(name, fd):
            log.warning("%s: replaced a %s, which no process used (%s)", name,
                        "damaged or foreign ring" if damaged else "drained ring of another record layout", exc)
    finally:  # explicitly: an exception's traceback may keep the mapping (and so the locks) alive
        for byte in locked:
            segment.unlock(fd, byte)


def _holders(fd: int, header) -> str:
    """Who holds a ring's role locks, for error messages: "a live producer (pid 12) and consumer (pid 34)"."""
    roles = []
    for role, byte, word in (("producer", H.PRODUCER_LOCK_BYTE, H.W_PRODUCER_PID),
                             ("consumer", H.CONSUMER_LOCK_BYTE, H.W_CONSUMER_PID)):
        if segment.is_locked(fd, byte):
            roles.append(role + ("" if header is None else f" (pid {int(header[word])})"))
    return "a live " + (" and ".join(roles) or "process")


def _unlink_if_same(name: str, fd: int) -> bool:
    """Unlink ``name`` if it is still the file open as ``fd`` (someone may have replaced it already)."""
    path = segment.path_of(name)
    try:
        named, ours = os.lstat(path), os.fstat(fd)  # lstat: never follow a link
        if (named.st_dev, named.st_ino) != (ours.st_dev, ours.st_ino):
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _replace_unmappable(name: str, exc: RingDamagedError) -> None:
    """Unlink ring file ``name`` that cannot even be mapped (empty) if no live process holds it; else raise ``exc``."""
    try:
        fd = os.open(segment.path_of(name), os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        locked = [byte for byte in (H.PRODUCER_LOCK_BYTE, H.CONSUMER_LOCK_BYTE) if segment.try_lock(fd, byte)]
        if len(locked) < 2:
            raise RingDamagedError(f"{exc}; {_holders(fd, None)} still uses it") from None
        if _unlink_if_same(name, fd):
            log.warning("%s: replaced a damaged ring file, which no process used (%s)", name, exc)
    finally:
        os.close(fd)  # drops our locks


def _initialiser(form, capacity: int):
    def initialise(memory) -> None:
        with H.header_words(memory) as words:
            words[H.W_VERSION] = H.VERSION
            words[H.W_RECORD_SIZE] = form.itemsize
            words[H.W_CAPACITY] = capacity
            words[H.W_FINGERPRINT] = form.fingerprint
            words[H.W_CREATED_NS] = time.time_ns()
            H.write_text(memory, H.DTYPE_TEXT, form.description)
            words[H.W_MAGIC] = H.MAGIC  # last: a header with magic is complete

    return initialise


def _check_new(form, capacity: int) -> None:
    if capacity < 2 or capacity & (capacity - 1):
        raise ValueError(f"ring capacity must be a power of two >= 2, got {capacity}")
    if form.itemsize % 8:
        raise ValueError(f"ring records must be a multiple of 8 bytes, {form.description} is not")
    if len(form.description.encode()) >= H.DTYPE_TEXT.stop - H.DTYPE_TEXT.start:
        raise ValueError("record dtype has too many fields to describe in the ring header")


def _difference(stored: str, wanted: str) -> str:
    have, want = stored.split(" "), wanted.split(" ")
    parts = []
    if have[0] != want[0]:
        parts.append(f"record size {have[0]} in the ring, {want[0]} asked")
    missing = [f for f in want[1:] if f not in have[1:]]
    extra = [f for f in have[1:] if f not in want[1:]]
    if missing:
        parts.append("asked for fields not in the ring: " + ", ".join(missing))
    if extra:
        parts.append("ring has fields not asked for: " + ", ".join(extra))
    return "; ".join(parts) or f"ring {stored!r} vs asked {wanted!r}"
