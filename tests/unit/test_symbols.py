"""The symbol directory in one process (several at once: integration/test_symbols_processes.py)."""
from __future__ import annotations

import pytest

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
