"""Fixtures every tier shares: a unique process group per test, spawned processes reaped afterwards,
one private clickhouse-server per session, the stores, and the local exchange simulator."""
from __future__ import annotations

import multiprocessing
import os
import uuid

import pytest

from shm import segment
from shm.names import group_segments
from simulator.handle import SimulatorHandle, start_simulator
from stores import need_chdb, start_server


@pytest.fixture
def group():
    name = f"t{os.getpid()}x{uuid.uuid4().hex[:8]}"
    yield name
    for seg in group_segments(name):
        segment.remove(seg)


@pytest.fixture
def spawn():
    """Start real processes (fresh interpreters, like production) and reap them after the test."""
    ctx = multiprocessing.get_context("spawn")
    started = []

    def start(target, *args):
        proc = ctx.Process(target=target, args=args, daemon=True)
        proc.start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.is_alive():
            proc.kill()
        proc.join(10)


@pytest.fixture(scope="session")
def clickhouse_server():
    """One private clickhouse-server for the whole session, started by the first test that asks."""
    server = start_server()
    yield server
    server.cleanup()


@pytest.fixture
def chdb_url(tmp_path):
    need_chdb()
    return f"chdb://{tmp_path / 'chdb'}"


@pytest.fixture(params=["clickhouse", "chdb"])
def store_url(request, tmp_path):
    """Each store in turn: a fresh database on the session's server, then a fresh chDB directory."""
    if request.param == "chdb":
        need_chdb()
        return f"chdb://{tmp_path / 'chdb'}"
    server = request.getfixturevalue("clickhouse_server")
    return server.url(database=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="module")
def simulators():
    """Start simulators with ``start_simulator``'s arguments; those still running are stopped after the module."""
    started: list[SimulatorHandle] = []

    def start(*args, **options) -> SimulatorHandle:
        handle = start_simulator(*args, **options)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        if handle.process.returncode is None:
            handle.stop()


@pytest.fixture(scope="module")
def sim(request, simulators):
    """The module's simulator, started once with the arguments of its ``simulator`` mark
    (``pytestmark = pytest.mark.simulator("all", rate=200)``)."""
    mark = request.node.get_closest_marker("simulator")
    if mark is None:
        raise pytest.UsageError(f"{request.module.__name__} uses sim without a simulator mark")
    return simulators(*mark.args, **mark.kwargs)
