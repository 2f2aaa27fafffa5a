"""The symbol directory shared by several real processes registering at once."""
from __future__ import annotations

import random

import pytest

import ring_workers as w
from shm.symbols import SymbolDirectory


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
