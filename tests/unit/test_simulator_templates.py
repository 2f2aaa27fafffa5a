"""Simulated trade frames, rendered offline, read back by the unchanged venue parsers."""
from __future__ import annotations

import pytest

from simulator.clock import Clock
from simulator.faults import MALFORMED_VARIANTS, malformed_frame
from simulator.market import Market
from simulator.venues import VENUES
from feeds.wsframe import BINARY
from feeds.trade import BUY, SELL, FrameError, Trade
from feeds.venues import VENUES as PARSERS

# the $names a venue's Session passes when a client subscribes
BIND_NAMES = {"binance": {"stream": "btcusdt@trade", "unit": "ms"}, "bitfinex": {"chan": "17"},
              "deribit": {"channel": "trades.BTC-PERPETUAL.100ms"}}


def live_template(name: str):
    module = VENUES[name]
    return module.COMBINED["trade"] if name == "binance" else module.LIVE


def payloads(chunk: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each server frame in ``chunk``."""
    frames, index = [], 0
    while index < len(chunk):
        length, offset = chunk[index + 1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(chunk[index + 2:index + 4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(chunk[index + 2:index + 10], "big"), 10
        frames.append((chunk[index] & 0x0F, chunk[index + offset:index + offset + length]))
        index += offset + length
    return frames


def setup(name: str):
    symbol = next(iter(Market(name, list(VENUES[name].SYMBOLS)).symbols.values()))
    bound = live_template(name).bind(symbol, **BIND_NAMES.get(name, {}))
    parser = PARSERS[name].Parser()
    if name == "bitfinex":
        parser.parse('{"event":"subscribed","channel":"trades","chanId":17,"symbol":"tBTCUSD","pair":"BTCUSD"}')
    return symbol, bound, parser


@pytest.mark.parametrize("name", list(VENUES))
def test_rendered_frames_parse_to_the_trades_sent(name):
    symbol, bound, parser = setup(name)
    values = Clock().tick(1_700_000_000_123_456_789)
    batch = VENUES[name].BATCH
    sizes = None if batch == (1,) else [1, 3, 2]
    count = 6
    first = symbol.take_ids(count)
    chunk, ends, trades = bound.render(first, count, sizes, values)
    frames = payloads(chunk)
    assert ends[-1] == len(chunk) and len(frames) == len(ends)
    assert (trades == 1) if sizes is None else (trades == sizes)
    got = [Trade._make(trade) for _, payload in frames for trade in parser.parse(payload)]  # named: parsers give tuples
    assert len(got) == count and not parser.replayed
    for offset, trade in enumerate(got):
        quote = symbol.quotes[(first + offset) & 255]
        assert trade.symbol.lower() == symbol.name.lower()
        assert trade.price == float(quote.price)
        assert trade.side == (BUY if quote.buy else SELL)
        assert abs(trade.ts_ns - 1_700_000_000_123_456_789) < 1_000_000  # the venue's unit, truncated
        if name != "bitmex":  # a GUID there; its last 12 hex digits are the id
            assert int(trade.trade_id) == first + offset
        else:
            assert int(trade.trade_id[-12:], 16) == first + offset


@pytest.mark.parametrize("name", list(VENUES))
def test_every_malformed_variant_is_rejected_and_the_parser_goes_on(name):
    symbol, bound, parser = setup(name)

    class FakeSession:  # what malformed_frame reads from a session
        subscriptions = {"key": type("Sub", (), {"live": bound, "symbol": symbol})()}

    values = Clock().tick()
    kinds = []
    for variant in MALFORMED_VARIANTS:
        ((opcode, payload),) = payloads(malformed_frame(variant, FakeSession, values))
        assert (opcode == BINARY) == (variant == "binary")
        with pytest.raises(FrameError) as error:
            parser.parse(payload)
        kinds.append(error.value.kind)
    assert kinds[2] == "missing_field" and kinds[3] == "unknown_message"
    assert kinds[1] in ("bad_number", "json")  # NaN as text, or as a bare JSON token
    chunk, _, _ = bound.render(symbol.take_ids(1), 1, None if VENUES[name].BATCH == (1,) else [1], values)
    assert len(parser.parse(payloads(chunk)[0][1])) == 1
