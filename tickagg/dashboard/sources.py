"""Where the dashboard's panels are read: a ClickHouse server directly (read-only), or a chDB store through the
writer that owns it (writer/dashboard_socket.py: chDB lets one process open a directory).

Both take a panel and checked ``Params`` and return one list of rows per query of the panel; neither ever runs
SQL other than the named panels (store/panels.py).
"""
from __future__ import annotations

import os
import socket
import stat
import threading

import orjson

from store.url import StoreURL, redact
from store.panels import SYMBOLS_SQL, Panel, Params, render


class SourceError(RuntimeError):
    """The store or the writer could not answer (the message says why, without a password)."""


class ClickHouseSource:
    """A ClickHouse server (18.16 or current) through clickhouse-driver, every query with ``readonly = 1``."""

    def __init__(self, url: StoreURL):
        from clickhouse_driver import Client

        self.url = url
        self._lock = threading.Lock()  # one connection; the driver's client is not thread-safe
        self._client = Client(host=url.host, port=url.port, user=url.user, password=url.password, database=url.database,
                              secure=url.secure, verify=True, ca_certs=url.ca or None, connect_timeout=2,
                              send_receive_timeout=10, sync_request_timeout=2, client_name="tickagg-dashboard",
                              settings={"readonly": 1})

    def _rows(self, sql: str) -> list[tuple]:
        from clickhouse_driver import errors

        with self._lock:
            try:
                return self._client.execute(sql)
            except (errors.Error, OSError, EOFError) as exc:
                self._client.disconnect()
                text = f"Code: {exc.code}. {exc.message or ''}" if isinstance(exc, errors.ServerException) else str(exc)
                first = (text.strip().splitlines() or [type(exc).__name__])[0].split(" Stack trace:")[0]
                raise SourceError(f"{self.url}: {redact(first, self.url.password)[:300]}") from None

    def panel(self, panel: Panel, params: Params) -> list[list[tuple]]:
        return [self._rows(sql) for sql in render(panel, params, self.url.database)]

    def symbols(self) -> list[tuple]:
        return self._rows(SYMBOLS_SQL.format(db=self.url.database))

    def describe(self) -> str:
        return f"ClickHouse {self.url} (read-only)"

    def close(self) -> None:
        self._client.disconnect()


class WriterSource:
    """A chDB store, through its writer's socket ``<state_dir>/<group>/dashboard.sock``."""

    def __init__(self, url: StoreURL, socket_path: str):
        self.url, self.path = url, socket_path
        self._lock = threading.Lock()  # one question at a time: the writer answers a few a second anyway

    def _ask(self, request: dict) -> dict:
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            raise SourceError(f"no writer is serving {self.url} (no {self.path}): start the group "
                              "(`tickagg run` or `tickagg write`) with the same --state-dir and --group") from None
        if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.geteuid():
            raise SourceError(f"{self.path} is not a socket of this user: not asked")
        with self._lock, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(15)
            try:
                conn.connect(self.path)
                conn.sendall(orjson.dumps(request) + b"\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = conn.recv(1 << 16)
                    if not chunk:
                        break
                    reply += chunk
                    if len(reply) > 64 << 20:
                        raise SourceError("the writer's answer is too large")
            except OSError as exc:
                raise SourceError(f"the writer of {self.url} did not answer on {self.path}: {exc}") from None
        try:
            document = orjson.loads(reply)
        except ValueError:
            raise SourceError(f"the writer sent no answer on {self.path}") from None
        if not isinstance(document, dict) or "error" in document:
            raise SourceError(f"writer: {str(document.get('error') if isinstance(document, dict) else document)[:300]}")
        return document

    def panel(self, panel: Panel, params: Params) -> list[list[tuple]]:
        results = self._ask({"panel": panel.name, "params": params.to_json()}).get("results")
        if not isinstance(results, list) or len(results) != len(panel.queries) or not all(isinstance(r, list) for r in results):
            raise SourceError("the writer's answer has not one list of rows per query")
        return [[tuple(row) for row in rows if isinstance(row, list)] for rows in results]

    def symbols(self) -> list[tuple]:
        rows = self._ask({"symbols": True}).get("rows")
        return [tuple(row) for row in rows if isinstance(row, list) and len(row) == 3] if isinstance(rows, list) else []

    def describe(self) -> str:
        return f"chDB {self.url.path} through its writer ({self.path})"

    def close(self) -> None:
        pass


def open_source(url: StoreURL, state_dir: str, group: str):
    """The source for ``url``: the server itself, or the writer of group ``group`` for chDB."""
    if url.kind == "chdb":
        return WriterSource(url, os.path.join(state_dir, group, "dashboard.sock"))
    return ClickHouseSource(url)
