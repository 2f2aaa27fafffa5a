"""Start conditions of `tickagg run`'s roles (``Role.start_when``, tickagg/supervisor.py).

The feeds start once the writer reads out.ticks: the aggregator creates that
ring as it starts (before its kernels load) and the writer takes its consumer
role once it has opened the store (or found it down: it then spills), so the
ticks the feeds deliver never wait in out.ticks for the writer's start, and
out.ticks need only cover the writer's batch cycles and hiccups (shm/topology.py
``RingSizing.output_seconds``). The feeds' own rings cover the aggregator's
kernel loading (``buffer_seconds``).
"""
from __future__ import annotations

from typing import Callable


def writer_reads(group: str) -> Callable[[], bool]:
    """A condition: the group's out.ticks exists, is a sound ring of ours and a live process holds its consumer
    role. Read with plain ``pread`` and a lock query (shm/ring_check.py ``consumer_alive_plain``), so the
    supervisor never imports NumPy for it."""
    from shm.names import ring_name
    from shm.ring_check import consumer_alive_plain
    from shm.segment import SegmentError

    name = ring_name(group, "out.ticks")

    def ready() -> bool:
        try:
            return consumer_alive_plain(name)
        except (OSError, SegmentError):  # not there yet, refused, or removed meanwhile (the aggregator replaces it)
            return False

    return ready
