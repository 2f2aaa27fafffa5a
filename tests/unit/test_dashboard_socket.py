"""The writer's dashboard socket (writer/dashboard_socket.py), through a real Unix socket: what a failing store
says never carries its password to the dashboard, and the answer waits for the writer's loop."""
from __future__ import annotations

import os
import socket
import threading

import orjson
import pytest

from store.panels import Params
from store.url import parse
from writer.dashboard_socket import DashboardSocket

SECRET = "s3cr%t-pw"


class FailingStore:
    """A store whose every query fails with a message that names its URL, password and all."""

    def __init__(self):
        self.url = parse(f"clickhouse://tickagg:{SECRET.replace('%', '%25')}@127.0.0.1:1/tickagg")
        self.database = "tickagg"

    def execute(self, sql):
        raise RuntimeError(f"cannot reach clickhouse://tickagg:{SECRET}@127.0.0.1:1 (password {SECRET}): refused")


@pytest.fixture
def served(tmp_path):
    listening = DashboardSocket.open(str(tmp_path / "dashboard.sock"))
    stop = threading.Event()
    store = FailingStore()

    def loop():  # the writer's loop: one request a step
        while not stop.wait(0.01):
            listening.serve(store, True)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield listening.path
    stop.set()
    thread.join()
    listening.close()


def _ask(path: str, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(path)
        conn.sendall(orjson.dumps(request) + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            reply += chunk
    return orjson.loads(reply)


@pytest.mark.parametrize("request_", [
    {"symbols": True},
    {"panel": "stages", "params": Params(1_800_000_000 - 300, 1_800_000_000).to_json()},
])
def test_a_failing_store_answers_an_error_without_its_password(served, request_):
    answer = _ask(served, request_)
    assert "refused" in answer["error"]
    assert SECRET not in answer["error"] and SECRET.replace("%", "%25") not in answer["error"]
    assert os.stat(served).st_mode & 0o777 == 0o600


class CountingStore:
    def __init__(self):
        self.url, self.database, self.queries = parse("chdb:///nowhere"), "tickagg", []

    def execute(self, sql):
        self.queries.append(sql)
        return []


def test_a_question_whose_asker_gave_up_is_not_run(tmp_path, monkeypatch):
    """The writer was busy past the answer wait: the dashboard got "did not answer"; the writer must not spend its
    loop on that question later (several of them would hold up the next ones, and the rows)."""
    from writer import dashboard_socket

    monkeypatch.setattr(dashboard_socket, "ANSWER_WAIT_S", 0.2)
    listening = DashboardSocket.open(str(tmp_path / "dashboard.sock"))
    try:
        assert "did not answer" in _ask(listening.path, {"symbols": True})["error"]  # nobody served it
        store = CountingStore()
        assert listening.serve(store, True) is False and store.queries == []
    finally:
        listening.close()
