"""The dashboard's HTTP server (stdlib ``ThreadingHTTPServer``): the page, its files and JSON endpoints.

::

  GET /                     the page (static/index.html; its script and uPlot from /static/)
  GET /api/panels           the panels (stored and live), the range choices, the group and the store
  GET /api/panel/NAME?range=SECONDS[&to=UNIX_S][&exchange=VENUE][&symbol_id=ID]
                            one panel: {"x": [...], "series": [{"label", "values"}], "points", "step",
                            "from_s", "to_s"}
  GET /api/symbols          the store's symbols (for the regime panel's chooser)
  GET /api/live             the group's live counters now (shared memory, the writer's status file)

Only the named panels run (store/panels.py), never SQL from a request; a bad parameter is a 400 with
the reason, a store or writer that cannot answer a 503. Requests must name this server in ``Host`` (127.0.0.1,
localhost or the bound address), so a page elsewhere cannot read the dashboard through DNS rebinding. A panel's
answer is kept for a second, so several open pages cost the store no more than one.
"""
from __future__ import annotations

import http.server
import logging
import os
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import orjson

from tickagg.dashboard.live import LIVE_PANELS, LiveHistory, sample
from store.panels import PANELS, RANGES, BadParameter, Params, step_for
from tickagg.dashboard.series import aligned
from tickagg.dashboard.sources import SourceError

log = logging.getLogger("tickagg.dashboard")
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
FILES = {  # the only files served: path -> (file under static/, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/static/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "/static/vendor/uPlot.iife.min.js": ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "/static/vendor/uPlot.min.css": ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    "/static/vendor/uPlot.LICENSE": ("vendor/uPlot.LICENSE", "text/plain; charset=utf-8"),
}
CACHE_S = 1.0
REQUEST_TIMEOUT_S = 10.0  # a connection with no complete request (or response read) by then is closed
SYMBOLS_CACHE_S = 10.0


class Dashboard:
    """What the handlers answer from: the store source, the live counters, a short cache."""

    def __init__(self, source, live: LiveHistory, group: str):
        self.source, self.live, self.group = source, live, group
        self._cache: dict[tuple, tuple[float, dict]] = {}
        self._symbols: tuple[float, list[tuple]] = (0.0, [])
        self._lock = threading.Lock()

    def panels(self) -> dict:
        stored = [{"name": p.name, "title": p.title, "unit": p.unit, "needs_symbol": p.needs_symbol, "live": False,
                   "venue_filter": p.venue_filter} for p in PANELS.values()]
        live = [{"name": name, "title": title, "unit": unit, "needs_symbol": False, "live": True, "venue_filter": False}
                for name, (title, unit) in LIVE_PANELS.items()]
        return {"panels": stored + live, "ranges": list(RANGES), "group": self.group, "store": self.source.describe()}

    def symbols(self) -> list[tuple]:
        with self._lock:
            taken, rows = self._symbols
        if time.monotonic() - taken > SYMBOLS_CACHE_S or not rows:
            rows = [(int(i), str(e), str(s)) for i, e, s in self.source.symbols()]
            with self._lock:
                self._symbols = (time.monotonic(), rows)
        return rows

    def panel(self, name: str, query: dict[str, str]) -> dict:
        params = Params.parse(query, int(time.time()))
        if name in LIVE_PANELS:
            return {**self.live.panel(name, params.from_s, params.to_s), "step": 1, "error": self.live.error,
                    "from_s": params.from_s, "to_s": params.to_s}
        panel = PANELS.get(name)
        if panel is None:
            raise LookupError(name)
        if panel.needs_symbol and params.symbol_id not in {row[0] for row in self.symbols()}:
            raise BadParameter(f"symbol_id {params.symbol_id} is not in the store's symbols")
        key = (name, params.range_s, query.get("to"), params.exchange_id, params.symbol_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        drawn = {**aligned(panel, self.source.panel(panel, params)), "step": step_for(params.range_s, panel.min_step),
                 "from_s": params.from_s, "to_s": params.to_s}
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if time.monotonic() - v[0] < CACHE_S}
            self._cache[key] = (time.monotonic(), drawn)
        return drawn

    def live_now(self) -> dict:
        from tickagg.group_snapshot import read_group

        return {"group": self.group, "time_s": time.time(), **sample(read_group(self.group, state_dir=self.live.state_dir))}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "tickagg-dashboard"
    dashboard: Dashboard  # set on the subclass made by serve()
    hosts: frozenset[str]

    def log_message(self, format, *args):  # noqa: A002 — the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):  # noqa: N802 — the stdlib's name
        parts = urlsplit(self.path)
        if self.headers.get("Host", "") not in self.hosts:
            return self._json(403, {"error": "this dashboard answers requests to 127.0.0.1 or localhost only"})
        if parts.path in FILES:
            return self._file(*FILES[parts.path])
        try:
            query = dict(parse_qsl(parts.query, keep_blank_values=True, max_num_fields=8))
            if parts.path == "/api/panels":
                return self._json(200, self.dashboard.panels())
            if parts.path == "/api/symbols":
                rows = self.dashboard.symbols()
                return self._json(200, {"symbols": [{"symbol_id": i, "exchange": e, "symbol": s} for i, e, s in rows]})
            if parts.path == "/api/live":
                return self._json(200, self.dashboard.live_now())
            if parts.path.startswith("/api/panel/"):
                return self._json(200, self.dashboard.panel(parts.path[len("/api/panel/"):], query))
        except (BadParameter, ValueError) as exc:
            return self._json(400, {"error": str(exc)})
        except LookupError:
            return self._json(404, {"error": f"no panel {parts.path[len('/api/panel/'):][:60]!r}: see /api/panels"})
        except SourceError as exc:
            return self._json(503, {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 — a bug or a malformed answer: one failed request, the server goes on
            log.exception("%s failed", parts.path)
            return self._json(500, {"error": f"{type(exc).__name__} (see the dashboard's log)"})
        return self._json(404, {"error": "not here: the page is at /, the panels at /api/panels"})

    def _headers(self, status: int, content_type: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        self.end_headers()

    def _json(self, status: int, document) -> None:
        body = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY, default=str)
        self._headers(status, "application/json", len(body))
        self.wfile.write(body)

    def _file(self, name: str, content_type: str) -> None:
        with open(os.path.join(STATIC, name), "rb") as f:
            body = f.read()
        self._headers(200, content_type, len(body))
        self.wfile.write(body)


def serve(dashboard: Dashboard, host: str, port: int,
          request_timeout_s: float = REQUEST_TIMEOUT_S) -> http.server.ThreadingHTTPServer:
    """A server for ``dashboard`` bound to (host, port) (port 0: any free one); call ``serve_forever``. A client
    that leaves its connection idle for ``request_timeout_s`` is hung up on (a thread per connection: no idle client
    keeps one for ever)."""
    server = http.server.ThreadingHTTPServer((host, port), Handler)
    bound = server.server_address[1]
    hosts = frozenset(f"{name}:{bound}" for name in ("127.0.0.1", "localhost", host, f"[{host}]"))
    server.RequestHandlerClass = type("DashboardHandler", (Handler,), {"dashboard": dashboard, "hosts": hosts,
                                                                        "timeout": request_timeout_s})
    server.daemon_threads = True
    return server
