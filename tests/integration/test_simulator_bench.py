"""The benchmark helper runs end to end (a smoke test: figures come from the helper, not from here)."""
from __future__ import annotations

from simulator.bench import measure_frames_per_second


def test_measure_frames_per_second_reports_client_and_server_figures():
    report = measure_frames_per_second("okx", seconds=0.3, warmup_s=0.1)
    assert report["venue"] == "okx" and report["frames"] > 0
    assert report["frames_per_s"] > 0 and report["server_trades_per_s"] >= report["server_frames_per_s"] > 0
    assert report["trades_per_frame"] > 1  # OKX batches
