"""The symbol directory across processes."""
from __future__ import annotations

import random

import pytest

import ring_workers as w
from shm.symbols import SymbolDirectory


def test_ids_are_stable_and_start_at_one(group):
    directory = SymbolDirectory(group)
    assert directory.id_of("binance", "BTCUSDT") == 1
    assert directory.id_of("okx", "BTC-USDT") == 2
    assert directory.id_of("binance", "BTCUSDT") == 1
    other = SymbolDirectory(group)
    assert other.lookup("okx", "BTC-USDT") == 2
    assert other.lookup("okx", "ETH-USDT") is None
    assert other.name_of(1) == ("binance", "BTCUSDT")
    assert other.name_of(2) == ("okx", "BTC-USDT")
    with pytest.raises(KeyError):
        other.name_of(3)


def test_symbols_with_colons_and_unicode_round_trip(group):
    directory = SymbolDirectory(group)
    symbol_id = directory.id_of("bitfinex", "tBTCF0:USTF0")
    assert SymbolDirectory(group).name_of(symbol_id) == ("bitfinex", "tBTCF0:USTF0")
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        directory.id_of("binance", "X" * 80)


def test_full_directory_says_so(group):
    from shm.symbols import SymbolDirectoryFull

    directory = SymbolDirectory(group, capacity=3)
    for i in range(3):
        directory.id_of("x", str(i))
    with pytest.raises(SymbolDirectoryFull, match="full"):
        directory.id_of("x", "3")


@pytest.mark.slow
def test_concurrent_registration_from_several_processes_agrees(group, spawn, tmp_path):
    shared = [("binance", f"S{i}") for i in range(300)]
    workers = []
    for n in range(4):
        keys = shared + [("okx", f"only{n}-{i}") for i in range(50)]
        random.Random(n).shuffle(keys)
        out = tmp_path / f"ids{n}"
        workers.append((spawn(w.register_symbols, group, keys, str(out)), out))
    seen: dict[str, int] = {}
    for proc, out in workers:
        proc.join(120)
        assert proc.exitcode == 0
        for line in out.read_text().strip().splitlines():
            key, symbol_id = line.rsplit(" ", 1)
            assert seen.setdefault(key, int(symbol_id)) == int(symbol_id), key
    assert len(seen) == 300 + 4 * 50
    assert sorted(seen.values()) == list(range(1, len(seen) + 1))  # dense, unique
    directory = SymbolDirectory(group)
    assert {f"{e}:{s}": i for i, (e, s) in ((i, k.split(":", 1)) for i, k in directory.items())} == seen
