"""Simulator settings, and parsing of their command-line spellings."""
from __future__ import annotations

from dataclasses import dataclass, field

from simulator.venues import VENUES


ARRIVALS = ("paced", "poisson")


@dataclass(frozen=True)
class SimulatorConfig:
    venues: tuple[str, ...]  # in port order
    rate: float | None = 100.0  # trades per second per venue; None = as fast as sockets take them
    rates: dict[str, float | None] = field(default_factory=dict)  # per-venue overrides of ``rate``
    symbols: dict[str, tuple[str, ...]] = field(default_factory=dict)  # venue -> symbols (default: the venue's)
    host: str = "127.0.0.1"
    port: int = 0  # first venue's port, the others follow; 0 = any free port for each
    control_port: int = 0
    heartbeat_scale: float = 1.0  # multiplies every keepalive period (tests make them short)
    arrivals: str = "paced"  # "paced": a token bucket, shared evenly; "poisson": arrivals.py (bursts, Zipf skew)
    zipf: float = 1.2  # poisson: symbol rank k weighs 1 / k**zipf
    seed: int = 0  # poisson: venue i draws from random.Random(seed * 1000 + i)
    tick_us: float = 250.0  # poisson: at most one batch of trades per venue this often
    clock_offset_s: float = 0.0  # the venues' clock runs this far ahead of the wall clock (negative: behind)

    def __post_init__(self) -> None:
        for name in (*self.venues, *self.symbols, *self.rates):
            if name not in VENUES:
                raise ValueError(f"unknown exchange {name!r}; known: {', '.join(VENUES)}")
        if not self.venues:
            raise ValueError("no exchange to simulate")
        if self.arrivals not in ARRIVALS:
            raise ValueError(f"unknown arrivals {self.arrivals!r}; known: {', '.join(ARRIVALS)}")
        if self.arrivals == "poisson" and (self.rate is None or None in self.rates.values()):
            raise ValueError("poisson arrivals need a finite rate for every venue")
        if self.zipf < 0 or self.tick_us < 0:
            raise ValueError("zipf and tick_us must be >= 0")
        if self.heartbeat_scale <= 0:
            raise ValueError("heartbeat scale must be positive")

    def symbols_of(self, venue: str) -> list[str]:
        return list(self.symbols.get(venue) or VENUES[venue].SYMBOLS)

    def rate_of(self, venue: str) -> float | None:
        return self.rates[venue] if venue in self.rates else self.rate

    def port_of(self, index: int) -> int:
        return self.port + index if self.port else 0


def parse_venues(text: str) -> tuple[str, ...]:
    """``"all"`` or ``"binance,okx"``."""
    if text.strip() == "all":
        return tuple(VENUES)
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in VENUES:
            raise ValueError(f"unknown exchange {name!r}; known: {', '.join(VENUES)}")
    return names


def parse_rate(text: str | float | None) -> float | None:
    """``"max"``/``0`` -> None (unpaced), else trades per second."""
    if text is None or text == "max":
        return None
    rate = float(text)
    if rate < 0:
        raise ValueError(f"rate must be >= 0, got {text}")
    return rate or None


def parse_rates(text: str) -> tuple[float | None, dict[str, float | None]]:
    """``"100"`` or ``"100,okx=1000,binance=max"`` -> (rate for every venue, per-venue overrides)."""
    default: float | None = 100.0
    rates = {}
    for item in text.split(","):
        venue, equals, value = item.strip().rpartition("=")
        if not equals:
            default = parse_rate(value)
        elif venue in VENUES:
            rates[venue] = parse_rate(value)
        else:
            raise ValueError(f"--rate wants N or venue=N items, got {item!r}")
    return default, rates


def parse_symbols(text: str) -> dict[str, tuple[str, ...]]:
    """``"binance=BTCUSDT,ETHUSDT;okx=BTC-USDT"`` -> {venue: symbols}."""
    symbols = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        venue, equals, names = part.partition("=")
        venue = venue.strip()
        if not equals or venue not in VENUES:
            raise ValueError(f"--symbols wants venue=A,B;venue=C; got {part!r}")
        symbols[venue] = tuple(name.strip() for name in names.split(",") if name.strip())
    return symbols
