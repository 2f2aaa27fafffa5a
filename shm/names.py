"""Group and ring names in shared memory: ``tickagg.<group>.<ring>``, matched exactly, never by prefix.

A group name is 1 to 64 letters, digits, '_' or '-'. It may not contain '.':
the group ends at the first dot after ``tickagg.``, so were ``G.x`` a group,
``tickagg.G.x.binance`` could be G's ring ``x.binance`` or G.x's ``binance``,
and removing G would take G.x's rings. A ring name has one of the shapes the
topology makes (shm/topology.py): ``NAME``, ``NAME.events`` or ``out.NAME``.
"""
from __future__ import annotations

import re

from shm import segment

PREFIX = "tickagg."
GROUP_RULE = "a group name is 1 to 64 letters, digits, '_' or '-' (no '.', '/' or spaces)"
_WORD = r"[A-Za-z0-9_-]+"
_GROUP = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RING = re.compile(rf"out\.{_WORD}|{_WORD}\.events|{_WORD}")
_SEGMENT = re.compile(rf"tickagg\.({_GROUP.pattern})\.({_RING.pattern})")


class GroupNameError(segment.SegmentError):
    """A process group name tickagg does not accept (see ``GROUP_RULE``)."""


def check_group(group: str) -> str:
    """``group`` itself if it is a valid group name; else GroupNameError stating the rule."""
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise GroupNameError(f"bad group name {group!r}: {GROUP_RULE}")
    return group


def group_argument(text: str) -> str:
    """argparse ``type`` for ``--group``: GroupNameError is not a ValueError, so argparse lets it through to
    ``tickagg.cli.main``, which prints it on one line and exits with status 2."""
    return check_group(text)


def check_ring(ring: str) -> str:
    """``ring`` itself if it is a ring name of a shape the topology makes; else SegmentError."""
    if not _RING.fullmatch(ring):
        raise segment.SegmentError(f"bad ring name {ring!r}: use NAME, NAME.events or out.NAME "
                                   "(NAME: letters, digits, '_', '-')")
    return ring


def ring_name(group: str, ring: str) -> str:
    """Shared-memory name of ring ``ring`` in process group ``group`` (both checked).

    ``ring=""`` gives the group's name prefix, for older callers; ``group_segments`` matches exactly.
    """
    check_group(group)
    if ring:
        check_ring(ring)
    return f"{PREFIX}{group}.{ring}"


def split(name: str) -> tuple[str, str] | None:
    """``(group, ring)`` of a segment name ``tickagg.<group>.<ring>``, or None if it is not one."""
    match = _SEGMENT.fullmatch(name)
    return (match.group(1), match.group(2)) if match else None


def group_segments(group: str) -> list[str]:
    """Every segment of ``group`` in shared memory (rings and the symbol directory), sorted; exactly that
    group's: never ``G.x``'s or ``Gx``'s for ``G``."""
    check_group(group)
    return [name for name in segment.names(PREFIX) if (split(name) or ("", ""))[0] == group]
