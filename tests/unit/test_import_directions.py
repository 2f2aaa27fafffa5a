"""Imports run one way (README, "Where the code lives"): the processes use shm/ (and the writer store/), never
each other, nor the command line above them (tickagg/, bench/), except that a process's ``*_command.py`` reads its
arguments and configuration with tickagg/args.py and tickagg/config.py."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "aggregator": {"feeds", "writer", "store", "simulator", "tickagg", "bench"},
    "feeds": {"aggregator", "writer", "store", "simulator", "tickagg", "bench"},
    "writer": {"feeds", "simulator", "tickagg", "bench"},
    "store": {"aggregator", "feeds", "writer", "simulator", "tickagg", "bench"},
    "shm": {"aggregator", "feeds", "writer", "store", "simulator", "tickagg", "bench"},
}
# the writer names the feature columns it stores from the catalogue (names only: no Numba is imported)
ALLOWED = {("writer", "aggregator.features.catalogue"), ("writer", "aggregator.features")}


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_process_package_never_imports_another_process(package):
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported(path):
            top = module.split(".")[0]
            command_line = path.name.endswith("_command.py") and top == "tickagg"  # a command's arguments and config
            if top in FORBIDDEN[package] and (package, module) not in ALLOWED and not command_line:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, wrong


def test_numba_kernels_live_where_the_cache_fingerprint_looks():
    """shm/__init__.py names Numba's cache after the source of shm/ and aggregator/ only: a cached kernel
    anywhere else would keep running old code after an edit."""
    from shm import _FINGERPRINTED

    outside = [str(path.relative_to(ROOT)) for package in ("feeds", "writer", "store", "simulator", "tickagg", "bench")
               for path in sorted((ROOT / package).rglob("*.py")) if "njit" in path.read_text()]
    assert set(_FINGERPRINTED) == {"shm", "aggregator"}
    assert not outside, outside
