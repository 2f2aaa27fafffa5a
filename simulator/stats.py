"""Exact accounting: what the simulator wrote to client sockets, per venue and symbol.

A frame counts when its last byte was accepted by the kernel (``sock.send``);
frames generated but still queued, or lost with a dropped connection, never
count (outbox.py does the bookkeeping). Live trades count once per connection
they were written to; ``generated`` counts each market trade once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SymbolStats:
    trades: int = 0  # live trades written
    frames: int = 0  # live trade frames written
    replayed: int = 0  # trades replayed on subscribe (snapshot, partial, last_match...) written
    replay_frames: int = 0
    skipped: int = 0  # trade ids skipped by the ``skip`` fault
    generated: int = 0  # trades the market made (ids used)
    last_id: int = 0  # the last trade id the market used (0 before the first)

    def add_live(self, frames: int, trades: int) -> None:
        self.frames += frames
        self.trades += trades

    def add_replay(self, frames: int, trades: int) -> None:
        self.replay_frames += frames
        self.replayed += trades


@dataclass
class VenueStats:
    connections: int = 0  # TCP connections accepted
    handshakes: int = 0  # WebSocket upgrades completed
    control_frames: int = 0  # acks, errors, heartbeats, pings, pongs, close frames written
    malformed: int = 0  # malformed frames written (``malformed`` fault)
    slow_consumer_drops: int = 0  # connections dropped because their outbox overflowed
    faults: dict[str, int] = field(default_factory=dict)  # fault kind -> times applied

    def add_control(self, frames: int, trades: int) -> None:
        self.control_frames += frames

    def add_malformed(self, frames: int, trades: int) -> None:
        self.malformed += frames

    def fault_applied(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1


def venue_report(venue: VenueStats, symbols: dict[str, SymbolStats], **extra: object) -> dict:
    """One venue's stats as JSON-ready dict: totals, then ``symbols`` one by one."""
    report = asdict(venue)
    for name in ("trades", "frames", "replayed", "replay_frames", "skipped", "generated"):
        report[name] = sum(getattr(stats, name) for stats in symbols.values())
    report.update(extra)
    report["symbols"] = {symbol: asdict(stats) for symbol, stats in symbols.items()}
    return report
