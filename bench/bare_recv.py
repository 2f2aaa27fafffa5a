"""The bare minimum a Python feed pays per wakeup: the baseline of `tickagg bench feed --rate`.

``python -m bench.bare_recv VENUE URL SYMBOLS``: the same WebSocket handshake
and subscription as a feed (websocket-client, the venue module's messages),
then one blocking ``recv_into`` per wakeup into a fixed buffer and two integer
additions; nothing is parsed or stored. Prints ``ready`` once subscribed;
stops at SIGTERM or EOF and prints ``{"reads": N, "bytes": N}``. Its CPU time
(read from /proc by the bench) per frame is what any Python process pays just
to be woken with each frame.
"""
from __future__ import annotations

import signal
import sys

import orjson
import websocket


class _Stop(Exception):
    pass


def _stop(*_signal) -> None:
    raise _Stop


def main(venue_name: str, url: str, symbols: list[str]) -> int:
    from feeds.venues import VENUES

    venue = VENUES[venue_name]
    ws = websocket.create_connection(venue.url_for(url, symbols), skip_utf8_validation=True, enable_multithread=False)
    for message in [*venue.on_connect_messages(), *venue.subscribe_messages(symbols)]:
        ws.send(message)
    sock = ws.sock
    sock.settimeout(None)
    buffer = bytearray(1 << 20)
    recv_into = sock.recv_into
    reads = received = 0
    signal.signal(signal.SIGTERM, _stop)
    print("ready", flush=True)
    try:
        while True:
            n = recv_into(buffer)
            if not n:
                break
            reads += 1
            received += n
    except _Stop:
        pass
    print(orjson.dumps({"reads": reads, "bytes": received}).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3].split(",")))
