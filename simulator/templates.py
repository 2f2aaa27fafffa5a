"""Trade frame templates: a venue writes its trade frame once, the hot path fills in bytes.

Two kinds of slot::

    $name     fixed for a subscription: $symbol, $price, $size, $contracts, $gross, $side,
              and any name the venue passes when binding ($chan, $channel, $stream...).
              Filled when a client subscribes, once per entry of the symbol's quote
              table, giving pre-rendered bytes.
    %(name)s  changes per trade or per tick: %(id)d (the trade id; %(id)012x works too),
              %(ms)s %(us)s %(ns)s %(s)s %(iso_ms)s %(iso_us)s (clock.py). Filled with
              bytes %-formatting, which runs at C speed, on the hot path.

``frame`` holds ``$rows`` where the trade rows go, comma-separated. Filling one
frame costs one ``%`` per row (plus one for a head/tail that carries a time).
"""
from __future__ import annotations

import re
from string import Template
from typing import TYPE_CHECKING

from feeds.wsframe import TEXT, header
from simulator.clock import ID
from simulator.market import QUOTE_MASK, Quote

if TYPE_CHECKING:
    from simulator.market import MarketSymbol

# a field whose value holds the trade id, with the comma that joins it to its neighbour
_ID_VALUE = r'(?:"[^"%]*%\(id\)[0-9a-z]+[^"]*"|%\(id\)[0-9a-z]+[0-9]*)'
_ID_FIELD_THEN_COMMA = re.compile(r'"[^"]+":' + _ID_VALUE + ",")
_COMMA_THEN_ID_FIELD = re.compile(r',"[^"]+":' + _ID_VALUE)
_ID_ITEM_THEN_COMMA = re.compile(_ID_VALUE + ",")


def _without_trade_id(row: str) -> str:
    """``row`` minus every field (or array item) that carries the trade id."""
    row = _ID_FIELD_THEN_COMMA.sub("", row)
    row = _COMMA_THEN_ID_FIELD.sub("", row)
    return _ID_ITEM_THEN_COMMA.sub("", row)


TEXT_HEADERS: list[bytes] = [header(TEXT, length) for length in range(1 << 14)]  # the hot path's, up to 16 KiB
_TABLE = len(TEXT_HEADERS)


def _frame_header(length: int) -> bytes:
    return TEXT_HEADERS[length] if length < _TABLE else header(TEXT, length)


class TradeTemplate:
    """A venue's trade frame: ``frame`` (with ``$rows``), ``row`` (one trade) and the
    words for a taker buy and a taker sell (``sides``)."""

    def __init__(self, frame: str, row: str, sides: tuple[str, str] = ("buy", "sell")):
        head, marker, tail = frame.partition("$rows")
        if not marker:
            raise ValueError("a trade frame template needs $rows")
        self.head, self.tail, self.row, self.sides = Template(head), Template(tail), Template(row), sides
        self.row_text = row

    def bind(self, symbol: MarketSymbol, /, **names: str) -> BoundTemplate:
        """The frame for one subscription to ``symbol`` (``$symbol`` defaults to its name)."""
        names.setdefault("symbol", symbol.name)
        return BoundTemplate(self, symbol.quotes, names)

    def fill_rows(self, quotes: list[Quote], names: dict[str, str]) -> list[str]:
        """``fill_row`` of each quote: the template filled once per side with markers, then the
        markers replaced per quote (exactly ``fill_row``'s text, several times faster)."""
        marked = {buy: self.fill_row(Quote("\x00P", "\x00S", "\x00C", "\x00G", buy), names) for buy in (True, False)}
        return [marked[quote.buy].replace("\x00P", quote.price).replace("\x00S", quote.size)
                .replace("\x00C", quote.contracts).replace("\x00G", quote.gross) for quote in quotes]

    def fill_row(self, quote: Quote, names: dict[str, str]) -> str:
        return self.row.substitute(names, price=quote.price, size=quote.size, contracts=quote.contracts,
                                            gross=quote.gross, side=self.sides[0] if quote.buy else self.sides[1])


class BoundTemplate:
    """Pre-rendered bytes for one subscription: a %-format per quote-table entry."""

    def __init__(self, template: TradeTemplate, quotes: list[Quote], names: dict[str, str]):
        self.template, self.quotes, self.names = template, quotes, names
        head = template.head.substitute(names).encode()
        tail = template.tail.substitute(names).encode()
        self.head, self.tail = head, tail
        self.head_timed, self.tail_timed = b"%(" in head, b"%(" in tail

    def __getattr__(self, name: str):
        """``rows`` and ``frames`` (one-trade frames), rendered at the first trade, not at subscribe:
        a connection subscribing 1,024 symbols would otherwise wait seconds for its handshake."""
        if name not in ("rows", "frames"):
            raise AttributeError(name)
        self.rows = [row.encode() for row in self.template.fill_rows(self.quotes, self.names)]
        self.frames = [self.head + row + self.tail for row in self.rows]
        return getattr(self, name)

    def render(self, first_id: int, count: int, sizes: list[int] | None,
               values: dict[bytes, object]) -> tuple[bytes, list[int], list[int] | int]:
        """``count`` trades from ``first_id`` as whole WebSocket frames, one trade each
        (``sizes`` None) or ``sizes[i]`` trades in frame i. Returns (bytes, frame ends, trades per frame)."""
        parts: list[bytes] = []
        ends: list[int] = []
        append, end = parts.append, ends.append
        total = 0
        if sizes is None:  # the hot path: one %-format per frame, a table lookup for its header
            frames, headers = self.frames, TEXT_HEADERS
            for trade_id in range(first_id, first_id + count):
                values[ID] = trade_id
                payload = frames[trade_id & QUOTE_MASK] % values
                size = len(payload)
                append(headers[size] if size < _TABLE else header(TEXT, size))
                append(payload)
                total += size + (2 if size < 126 else 4 if size < 65536 else 10)
                end(total)
            return b"".join(parts), ends, 1
        rows = self.rows
        head, tail = self.head, self.tail
        trade_id = first_id
        for size in sizes:
            batch = []
            for trade_id in range(trade_id, trade_id + size):
                values[ID] = trade_id
                batch.append(rows[trade_id & QUOTE_MASK] % values)
            trade_id += 1
            payload = b"".join((head % values if self.head_timed else head, b",".join(batch),
                                tail % values if self.tail_timed else tail))
            frame_head = _frame_header(len(payload))
            append(frame_head)
            append(payload)
            total += len(frame_head) + len(payload)
            end(total)
        return b"".join(parts), ends, sizes

    def payload(self, ids: list[int] | range, values: dict[bytes, object],
                frame: TradeTemplate | None = None) -> bytes:
        """One frame's payload holding the trades ``ids``, written with ``frame`` (default: the
        live template; replays pass the venue's replay template). Re-rendered: replays are rare."""
        frame = frame or self.template
        rows = []
        for trade_id in ids:
            values[ID] = trade_id
            quote = self.quotes[trade_id & QUOTE_MASK]
            rows.append(frame.fill_row(quote, self.names).encode() % values)
        head = frame.head.substitute(self.names).encode() % values
        tail = frame.tail.substitute(self.names).encode() % values
        return head + b",".join(rows) + tail

    def malformed(self, trade_id: int, values: dict[bytes, object], kind: str) -> bytes:
        """A one-trade frame the venue's parser must reject: ``nan_price`` or ``missing_field``."""
        template = self.template
        quote = self.quotes[trade_id & QUOTE_MASK]
        if kind == "nan_price":
            row = template.fill_row(quote._replace(price="NaN"), self.names)
        elif kind == "missing_field":
            row = Template(_without_trade_id(template.row_text)).substitute(
                self.names, price=quote.price, size=quote.size, contracts=quote.contracts, gross=quote.gross,
                side=template.sides[0] if quote.buy else template.sides[1])
        else:
            raise ValueError(f"unknown malformed trade kind {kind!r}")
        values[ID] = trade_id
        return (self.head + row.encode() + self.tail) % values
