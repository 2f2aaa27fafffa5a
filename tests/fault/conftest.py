"""The fault tier: every test here is marked ``fault`` (SIGKILL, outages, fault injection),
so ``-m "not fault"`` and the folder agree."""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.fault)
