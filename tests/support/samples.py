"""Recorded venue frames (tests/support/exchange_samples/*.jsonl) and the ticks they must give.

Each sample line has ``raw`` and the live ticks it must give (``expected``), plus
``snapshot_trades`` for frames the venue replays on subscribe.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "exchange_samples"


def sample_lines(name: str) -> list[dict]:
    with open(SAMPLES / f"{name}.jsonl", encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def frames_of(sample: dict) -> list[str]:
    """The frames to feed for one sample: the ``subscribed`` events its context
    says the parser has seen (Bitfinex), then the raw frame itself."""
    mapping = sample.get("context", {}).get("chanId_to_symbol", {})
    setup = [json.dumps({"event": "subscribed", "channel": "trades", "chanId": int(chan_id),
                         "symbol": symbol, "pair": symbol[1:]}) for chan_id, symbol in mapping.items()]
    return setup + [sample["raw"]]


def same_float(got: float, want: float) -> bool:
    return got == want or math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)


def assert_ticks(got: list[dict], want: list[dict], where: str) -> None:
    assert len(got) == len(want), f"{where}: {len(got)} ticks, expected {len(want)}: {got}"
    for tick, expected in zip(got, want):
        for field in ("symbol", "side", "ts_ns", "trade_id"):
            assert tick[field] == expected[field], f"{where}: {field} {tick[field]!r} != {expected[field]!r}"
            assert type(tick[field]) is type(expected[field]), f"{where}: {field} type"
        for field in ("price", "size"):
            assert same_float(tick[field], expected[field]), f"{where}: {field} {tick[field]!r} != {expected[field]!r}"
