"""What a ring raises (shm/ring.py, shm/ring_attach.py); callers import them from shm.ring."""
from __future__ import annotations

from shm import segment


class RingError(segment.SegmentError):
    """A ring that cannot be used as asked."""


class RingLayoutError(RingError):
    """The ring in shared memory is not laid out the way the caller expects."""


class RingOtherLayoutError(RingLayoutError):
    """The ring is a valid tickagg ring of another record layout (e.g. written by another release)."""


class RingRefusedError(RingError, segment.SegmentRefusedError):
    """The ring's file is not one tickagg will use: a symbolic link, another user's, open to others (shm/segment.py)."""


class RingDamagedError(RingLayoutError):
    """The file is not a sound tickagg ring: foreign, truncated, or with impossible header words."""


class RingBusyError(RingError):
    """Another live process already holds the producer or consumer role."""
