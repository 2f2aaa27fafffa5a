"""The stores the tests need: a private clickhouse-server and the chdb package.

``start_server`` wraps bench/clickhouse_server.py (the benches use it too).
A test that needs a store it cannot get here (package not installed) is
skipped with the reason, unless TICKAGG_REQUIRE_STORES=1 (``make test`` sets
it and installs the packages), where it fails.
"""
from __future__ import annotations

import importlib.util
import os

import pytest

from bench.clickhouse_server import LocalServer, ServerError, server_binary

__all__ = ["start_server", "need_chdb"]


def missing(message: str) -> None:
    """Skip the test for a store that is missing here, or fail it under TICKAGG_REQUIRE_STORES=1."""
    if os.environ.get("TICKAGG_REQUIRE_STORES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def start_server(root: str | None = None) -> LocalServer:
    """Start a private server, or skip (fail under TICKAGG_REQUIRE_STORES=1) if it cannot run here."""
    if server_binary() is None:
        missing("clickhouse-server is not installed (make test installs Debian's clickhouse-server)")
    try:
        return LocalServer(root).start()
    except ServerError as exc:
        pytest.fail(str(exc))


def need_chdb() -> None:
    """Skip when the chdb package is missing (fail under TICKAGG_REQUIRE_STORES=1)."""
    if importlib.util.find_spec("chdb") is None:
        missing("the chdb package is not installed (pip install chdb)")
