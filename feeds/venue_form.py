"""What the venue modules' forms share: the parser outboxes and batched ``op`` subscribe frames."""
from __future__ import annotations

import orjson

from feeds.trade import Trade


class ParserOutboxes:
    """The two outboxes every venue ``Parser`` has; the feed loop drains them after each frame.

    ``replies``: text frames the venue expects back (e.g. Deribit ``public/test``).
    ``replayed``: trades the venue replays on subscribe (flagged FLAG_SNAPSHOT), never live.
    """

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.replayed: list[Trade] = []


def op_subscribe(args: list, per_message: int) -> list[str]:
    """``{"op":"subscribe","args":[...]}`` frames of at most ``per_message`` args (OKX, Bybit, BitMEX)."""
    return [orjson.dumps({"op": "subscribe", "args": args[i:i + per_message]}).decode()
            for i in range(0, len(args), per_message)]
