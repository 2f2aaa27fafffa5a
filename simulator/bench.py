"""``measure_frames_per_second``: how many trade frames one simulator process sends.

The simulator runs unpaced (``rate`` max) for one venue in its own process; a
raw-socket client (rawclient.py) in this process counts frames. Figures come
from here (or ``python -m simulator.bench VENUE SECONDS``), never from
timed tests.
"""
from __future__ import annotations

import sys
import time

import orjson
import psutil

from simulator.handle import start_simulator
from simulator.rawclient import RawClient
from feeds.venues import venue as venue_module


def measure_frames_per_second(venue: str, seconds: float = 5.0, symbols: list[str] | None = None,
                              warmup_s: float = 1.0) -> dict:
    """Frames/s the client counted and trades/s the simulator accounted, unpaced, over ``seconds``,
    with the simulator process's CPU use (one core = 1.0) and its frames per CPU-second.

    The client subscribes with the venue module's ``url_for``/``subscribe_messages`` (no
    ``on_connect_messages``: a counting client answers no Deribit heartbeat).
    """
    module = venue_module(venue)
    with start_simulator([venue], rate="max", symbols={venue: symbols} if symbols else None) as sim:
        names = symbols or list(sim.stats()["venues"][venue]["symbols"])
        client = RawClient(module.url_for(sim.url(venue), names))
        for message in module.subscribe_messages(names):
            client.send_text(message)
        client.count(warmup_s)
        server = psutil.Process(sim.process.pid)
        before = sim.venue_stats(venue)
        cpu_before = sum(server.cpu_times()[:2])
        start = time.perf_counter()
        frames, received = client.count(seconds)
        elapsed = time.perf_counter() - start
        cpu = sum(server.cpu_times()[:2]) - cpu_before
        after = sim.venue_stats(venue)
        client.close()
    server_frames = after["frames"] - before["frames"]
    server_trades = after["trades"] - before["trades"]
    return {
        "venue": venue,
        "seconds": round(elapsed, 3),
        "symbols": names,
        "frames": frames,
        "frames_per_s": round(frames / elapsed),
        "mbytes_per_s": round(received / elapsed / 1e6, 1),
        "bytes_per_frame": round(received / frames, 1) if frames else None,
        "server_frames_per_s": round(server_frames / elapsed),
        "server_trades_per_s": round(server_trades / elapsed),
        "trades_per_frame": round(server_trades / server_frames, 2) if server_frames else None,
        "server_cpu_share": round(cpu / elapsed, 2),  # of one core (user + system)
        "frames_per_cpu_second": round(server_frames / cpu) if cpu else None,
    }


if __name__ == "__main__":
    print(orjson.dumps(measure_frames_per_second(sys.argv[1] if len(sys.argv) > 1 else "binance",
                                                 float(sys.argv[2]) if len(sys.argv) > 2 else 5.0)).decode())
