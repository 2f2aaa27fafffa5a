"""A private clickhouse-server for the store tests: generated config, free loopback ports, temporary data.

Thin wrapper over bench/clickhouse_server.py (the benches use it too).
Tests that need a server and cannot get one (package not installed) are
skipped with the reason, unless TICKAGG_REQUIRE_STORES=1 (set it in CI, where
``make test`` installs the package), where they fail.
"""
from __future__ import annotations

import os

import pytest

from bench.clickhouse_server import PASSWORD, LocalServer, ServerError, server_binary

__all__ = ["PASSWORD", "LocalServer", "start_server"]


def start_server(root: str | None = None) -> LocalServer:
    """Start a private server, or skip (fail under TICKAGG_REQUIRE_CLICKHOUSE=1) if it cannot run here."""
    if server_binary() is None:
        message = "clickhouse-server is not installed (make test installs Debian's clickhouse-server)"
        if os.environ.get("TICKAGG_REQUIRE_STORES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        return LocalServer(root).start()
    except ServerError as exc:
        pytest.fail(str(exc))
