"""`tickagg run --config FILE`: the deployment file drives the whole group (venues, symbols, simulator, store,
data directory, Coinbase's protocol, ring capacities by seconds of buffer), and a bad file stops it at start with one line naming the file, line and key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from group_run import GroupRun
from stores import need_chdb

from shm.ring import Ring, ring_name
from shm.symbols import SymbolDirectory


def tickagg(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickagg", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_run_takes_the_deployment_from_the_file(group, tmp_path):
    need_chdb()
    store = f"chdb://{tmp_path / 'store'}"
    deployment = tmp_path / "tickagg.toml"
    deployment.write_text(f"""
group = "{group}"
data_dir = "{tmp_path / 'data'}"
[store]
url = "{store}"
[writer]
batch_rows = 100
[simulator]
rate = 800
[rings]
buffer_seconds = 1
venue_peak_rate = 1000
output_seconds = 2
peak_rate = 5000
[venues.coinbase]
symbols = ["ETH-USD"]
protocol = "advanced"
[venues.binance]
symbols = ["BTCUSDT", "SOLUSDT"]
[venues.kraken]
enabled = false
""")
    run = GroupRun("--simulate", "--config", str(deployment))
    try:  # stopped once more ticks came than the two small rings (4,096 records each) hold, and reach the store
        run.wait_for(lambda s: s.connected == 2 and s.received > 2 * 4096 + 800 and s.stored > 4096)
    finally:
        done = run.stop()
    done.assert_no_restarts()
    assert f"group {group}, 2 feed(s) from the simulator" in done.stdout
    final = done.final
    received, aggregated, stored = final.received, final.aggregated, final.stored
    capacities = {}
    for name in ("binance", "coinbase", "out.ticks"):
        ring = Ring(ring_name(group, name))
        capacities[name] = ring.capacity
        ring.close()
    assert capacities == {"binance": 4096, "coinbase": 4096, "out.ticks": 16384}  # 1 s x 1000/s, 2 s x 5000/s
    assert received > 2 * 4096 and received == aggregated == stored, final  # the small rings wrapped, nothing lost
    assert (tmp_path / "data" / "logs" / "feed-coinbase.log").exists()  # data_dir from the file
    assert not (tmp_path / "data" / "logs" / "feed-kraken.log").exists()  # disabled
    query = tickagg("query", "SELECT symbol_id, count() FROM tickagg.ticks GROUP BY symbol_id", "--store", store,
                    "--json")
    assert query.returncode == 0, query.stderr
    ids = {int(symbol_id) for symbol_id, count in orjson.loads(query.stdout)["rows"] if int(count) > 0}
    directory = SymbolDirectory(group)
    try:
        names = {name for symbol_id, name in directory.items() if symbol_id in ids}
    finally:
        directory.close()
    assert names == {"coinbase:ETH-USD", "binance:BTCUSDT", "binance:SOLUSDT"}  # the file's symbols, nothing else
    log = (tmp_path / "data" / "logs" / "feed-coinbase.log").read_text()
    assert "advanced" in log.lower(), log[-2000:]  # the file's protocol, served by the simulator


def test_run_refuses_a_bad_file_before_starting_anything(group, tmp_path):
    deployment = tmp_path / "tickagg.toml"
    deployment.write_text(f'group = "{group}"\n\n[writer]\nbatch_rows = -5\n')
    result = tickagg("run", "--simulate", "--config", str(deployment), "--seconds", "5", "--data-dir",
                     str(tmp_path / "data"))
    assert result.returncode == 2 and result.stdout == "", result.stdout + result.stderr
    assert result.stderr.strip() == f"tickagg run: {deployment}:4: writer.batch_rows: '-5' must be positive"
    assert not (tmp_path / "data").exists()


def test_the_writer_reads_its_part_without_loading_numba():
    example = Path(__file__).resolve().parents[2] / "systemd" / "tickagg.toml.example"
    code = ("import sys; from tickagg.cli import _configured, build_parser; "
            f"argv = ['--config', {str(example)!r}]; "
            "args = build_parser('write', _configured('write', argv)).parse_args(['write', *argv]); "
            "print(args.spill_full, *[m for m in ('numba', 'llvmlite') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["drop-oldest"]  # the file was read, and no Numba came with it
