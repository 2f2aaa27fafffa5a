"""`tickagg dashboard`: the latency dashboard on localhost (no Grafana, works offline)."""
from __future__ import annotations

import argparse
import signal
import sys

from shm.names import group_argument
from tickagg.args import UsageError

HELP = "serve the latency dashboard page on localhost (live charts from the store and the group's shared memory)"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0: any free one)")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, help="store URL (default: TICKAGG_STORE, CLICKHOUSE_URL, else chdb://./data); "
                        "a chDB store is read through its running writer")
    parser.add_argument("--group", type=group_argument, default="default", help="the group whose live counters to show (default: default)")
    parser.add_argument("--port", type=_port, default=8787, help="port (default 8787; 0: any free one, printed)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--state-dir", default="./data/writer",
                        help="the writer's --state-dir (its status file and, for chDB, its query socket; default ./data/writer)")


def run(args: argparse.Namespace) -> int:
    import logging

    from store.url import StoreURLError, configured
    from tickagg.dashboard.live import LiveHistory
    from tickagg.dashboard.server import Dashboard, serve
    from tickagg.dashboard.sources import open_source

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        url = configured(args.store)
    except StoreURLError as exc:
        raise UsageError(f"--store: {exc}") from None
    source = open_source(url, args.state_dir, args.group)
    live = LiveHistory(args.group, args.state_dir)
    try:
        server = serve(Dashboard(source, live, args.group), args.host, args.port)
    except OSError as exc:
        print(f"tickagg dashboard: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    live.start()
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"tickagg dashboard: http://{shown}:{port}/ (group {args.group}, {source.describe()}); Ctrl-C stops", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    import threading

    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()
    finally:
        live.stop()
        server.server_close()
        source.close()
    return 0
