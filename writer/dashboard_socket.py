"""The writer answers the dashboard's named panel queries on a Unix socket: chDB lets one process open a store
directory (a second one gets "Cannot lock file .../status", chdb 4.4 has no read-only open), and the writer is
that process.

``<state-dir>/<group>/dashboard.sock``, mode 0600 (only the writer's user can connect). A client sends one JSON
line and gets one JSON line back::

  {"panel": "tick_to_store", "params": {"from_s": ..., "to_s": ..., "exchange_id": null, "symbol_id": null}}
      -> {"results": [[[t, ...], ...], ...]}   (one list of rows per query of the panel)
  {"symbols": true}  -> {"rows": [[symbol_id, exchange, symbol], ...]}
  anything else, or a refusal -> {"error": "..."}

Only the panels of store/panels.py run, rendered here from checked ints (``Params.from_json``): no
SQL crosses the socket. Off the hot path: a thread accepts and reads requests (one connection at a time, 2 s to
send a line of at most 4 KiB) and waits for the answer; the writer's loop runs at most one query a step and
``MAX_PER_S`` a second, none once ``BUDGET_S`` of the last second went to them (``serve``), each with
``max_execution_time``; what is over that waits in a short queue,
and a full queue answers "busy". A question not answered within ``ANSWER_WAIT_S`` is answered "did not answer in
time" and dropped, never run later.
"""
from __future__ import annotations

import logging
import os
import queue
import socket
import stat
import threading
import time

import orjson

log = logging.getLogger("tickagg.writer")
MAX_PER_S = 10
BUDGET_S = 0.2  # the writer's time spent on dashboard queries in any second, at most (then they wait)
REQUEST_BYTES = 4096
QUEUE = 8
ANSWER_WAIT_S = 10.0
QUERY_SETTINGS = " SETTINGS max_execution_time = 2, max_result_rows = 100000"
_PATH_MAX = 107  # sun_path


class _Request:
    def __init__(self, document):
        self.document, self.answer, self.done = document, None, threading.Event()
        self.abandoned = False  # its asker was told "did not answer in time": never run


class DashboardSocket:
    def __init__(self, listener: socket.socket, path: str):
        self.path, self._listener = path, listener
        self._requests: queue.Queue[_Request] = queue.Queue(QUEUE)
        self._served: list[tuple[float, float]] = []  # (monotonic end, seconds spent) of the last second's answers
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="dashboard-socket", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, path: str) -> "DashboardSocket | None":
        """Listen at ``path`` (a stale socket there is replaced, anything else refused); None, logged, if it cannot."""
        if len(os.fsencode(path)) > _PATH_MAX:
            log.warning("no dashboard socket: %s is longer than a Unix socket path may be", path)
            return None
        try:
            try:
                if not stat.S_ISSOCK(os.lstat(path).st_mode):
                    raise OSError(f"{path} exists and is not a socket")
                os.unlink(path)
            except FileNotFoundError:
                pass
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o177)
            try:
                listener.bind(path)
            finally:
                os.umask(old)
            os.chmod(path, 0o600)
            listener.listen(4)
        except OSError as exc:
            log.warning("no dashboard socket at %s: %s", path, exc)
            return None
        return cls(listener, path)

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                try:
                    self._converse(connection)
                except OSError:
                    pass

    def _converse(self, connection: socket.socket) -> None:
        connection.settimeout(2.0)
        line = b""
        while b"\n" not in line and len(line) <= REQUEST_BYTES:
            chunk = connection.recv(REQUEST_BYTES + 1 - len(line))
            if not chunk:
                break
            line += chunk
        try:
            if len(line) > REQUEST_BYTES:
                raise ValueError(f"a request is one line of at most {REQUEST_BYTES} bytes")
            request = _Request(orjson.loads(line.split(b"\n")[0]))
        except ValueError as exc:
            return connection.sendall(orjson.dumps({"error": f"bad request: {str(exc)[:200]}"}) + b"\n")
        try:
            self._requests.put_nowait(request)
        except queue.Full:
            return connection.sendall(b'{"error":"busy: the writer answers a few queries a second"}\n')
        if not request.done.wait(ANSWER_WAIT_S):
            request.abandoned = True
            request.answer = {"error": "the writer did not answer in time"}
        connection.sendall(orjson.dumps(request.answer, option=orjson.OPT_SERIALIZE_NUMPY, default=str) + b"\n")

    def waiting(self) -> bool:
        """Whether a request waits for the writer's loop."""
        return not self._requests.empty()

    def serve(self, store, store_up: bool) -> bool:
        """Answer one waiting request if this second's budget allows (from the writer's loop); True if it did."""
        now = time.monotonic()
        self._served = [(end, spent) for end, spent in self._served if now - end < 1.0]
        if len(self._served) >= MAX_PER_S or sum(spent for _, spent in self._served) >= BUDGET_S:
            return False
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return False
            if not request.abandoned:
                break
        try:
            request.answer = answer(request.document, store, store_up)
        except Exception as exc:  # noqa: BLE001 — a failed query is the dashboard's problem, never the writer's
            from store.url import redact

            password = getattr(getattr(store, "url", None), "password", "") or ""
            request.answer = {"error": redact(str(exc), password)[:500]}  # a driver's text may name the URL
        end = time.monotonic()
        self._served.append((end, end - now))
        request.done.set()
        return True

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread's accept (close alone does not on Linux)
        except OSError:
            pass
        try:
            self._listener.close()
        finally:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def answer(document, store, store_up: bool) -> dict:
    """The reply to one request (``store`` is the writer's open store)."""
    from store.panels import PANELS, SYMBOLS_SQL, BadParameter, Params, render

    if not isinstance(document, dict):
        return {"error": "a request is a JSON object"}
    if not store_up:
        return {"error": "the writer's store is not open now"}
    if document.get("symbols") is True and len(document) == 1:
        return {"rows": store.execute(SYMBOLS_SQL.format(db=store.database) + QUERY_SETTINGS)}
    panel = PANELS.get(document.get("panel")) if isinstance(document.get("panel"), str) else None
    if panel is None or set(document) != {"panel", "params"}:
        return {"error": "ask for {\"panel\": NAME, \"params\": {...}} or {\"symbols\": true}"}
    try:
        statements = render(panel, Params.from_json(document["params"]), store.database)
    except BadParameter as exc:
        return {"error": str(exc)}
    return {"results": [store.execute(sql + QUERY_SETTINGS) for sql in statements]}
