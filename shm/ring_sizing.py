"""Ring capacities and the feed's ring names, without NumPy (a feed process must not import it: issue 12).

Why the rings are sized as they are: shm/topology.py, which holds the whole
ring list (with record dtypes) and re-exports these.
"""
from __future__ import annotations

from typing import NamedTuple

TICK_RING_CAPACITY = 1 << 16  # per exchange: the capacity at the default RingSizing, 4 MiB
EVENT_RING_CAPACITY = 1 << 12  # per exchange

# at least one flush of the aggregator's staging (aggregator/outputs.py STAGING); at most 256 MiB of ticks
MIN_CAPACITY, MAX_DERIVED_CAPACITY = 1 << 12, 1 << 22


class RingSizing(NamedTuple):
    """How much the rate-driven rings buffer (the deployment file's ``[rings]``). Defaults: the seed's operating
    point, 80k ticks/s over ten venues, with bursts to 1.5x the group rate and 2x a venue's."""

    buffer_seconds: float = 4.0  # a feed's tick ring: a warm aggregator restart (the docstring)
    venue_peak_rate: float = 16_000.0  # ticks/s one venue may send
    output_seconds: float = 4.0  # out.ticks: writer batch cycles, hiccups and a restart (not its first start: the docstring)
    peak_rate: float = 120_000.0  # ticks/s of the whole group

    @classmethod
    def given(cls, **values: float | None) -> RingSizing:
        """The sizing with the values a command was given (None: the default)."""
        return cls(**{key: value for key, value in values.items() if value is not None})

    def tick_capacity(self) -> int:
        return capacity_for(self.venue_peak_rate, self.buffer_seconds)

    def output_capacities(self) -> dict[str, int]:
        """Capacity of each output ring by short name (``OUTPUT_RINGS`` order)."""
        from shm.topology import OUTPUT_RINGS  # the dtypes: not for a feed

        capacities = {name: spec.capacity for name, spec in OUTPUT_RINGS.items()}
        capacities["out.ticks"] = capacity_for(self.peak_rate, self.output_seconds)
        return capacities


def capacity_for(rate: float, seconds: float) -> int:
    """Records for ``seconds`` at ``rate`` records/s: the next power of two, at least ``MIN_CAPACITY``
    (ValueError for a rate or a time that is not a positive finite number, or more than ``MAX_DERIVED_CAPACITY``)."""
    for what, value in (("rate", rate), ("seconds", seconds)):
        if not 0 < value < float("inf"):
            raise ValueError(f"the {what} must be a positive number, not {value!r}")
    wanted = rate * seconds
    if wanted > MAX_DERIVED_CAPACITY:
        raise ValueError(f"{rate:g}/s x {seconds:g} s is {wanted:.0f} records, more than the {MAX_DERIVED_CAPACITY} "
                         "a ring sized by rate may hold")
    return max(MIN_CAPACITY, 1 << max(0, int(wanted) - 1).bit_length())


def tick_ring(exchange: str) -> str:
    """Short name of an exchange's tick ring (``ring_name(group, tick_ring(x))``)."""
    return exchange


def event_ring(exchange: str) -> str:
    return f"{exchange}.events"


