"""Fixtures for the store and writer tests (import them into a test module: ``from store_fixtures import *``).

- ``clickhouse_server``: one private clickhouse-server for the session (tests/clickhouse_server.py);
- ``store_url``: parametrized over both stores — a fresh database on that server, or a fresh chDB directory.
"""
from __future__ import annotations

import importlib.util
import os
import uuid

import pytest

from clickhouse_server import start_server

__all__ = ["clickhouse_server", "store_url", "chdb_url", "need_chdb"]


@pytest.fixture(scope="session")
def clickhouse_server():
    server = start_server()
    yield server
    server.cleanup()


def need_chdb() -> None:
    """Skip when the chdb package is missing (fail under TICKAGG_REQUIRE_STORES=1)."""
    if importlib.util.find_spec("chdb") is None:
        message = "the chdb package is not installed (pip install chdb)"
        if os.environ.get("TICKAGG_REQUIRE_STORES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def chdb_url(tmp_path):
    need_chdb()
    return f"chdb://{tmp_path / 'chdb'}"


@pytest.fixture(params=["clickhouse", "chdb"])
def store_url(request, tmp_path):
    if request.param == "chdb":
        need_chdb()
        return f"chdb://{tmp_path / 'chdb'}"
    server = request.getfixturevalue("clickhouse_server")
    return server.url(database=f"t{uuid.uuid4().hex[:10]}")
