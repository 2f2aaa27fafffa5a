"""The parsers' hot paths give exactly what their careful paths give: the same trades (values and types)
or the same error (kind and message), on the recorded samples, simulator frames, the bad-field and
bad-frame cases and mutated frames; through a feed session, the same ring bytes and counters. The same
for the normalize helpers' inlined common cases.
"""
from __future__ import annotations

import orjson
import pytest
from frame_cases import CASES
import time

from fuzz import Mutator, good_frames, offline_session
from samples import frames_of, sample_lines

from feeds import normalize
from feeds.plausible import Limits
from feeds.trade import FrameError
from feeds.venues import VENUES, venue

FAST = [name for name in sorted(VENUES) if hasattr(venue(name).Parser, "parse_careful")]  # venues with a hot path
MUTATED = 1000  # per venue
BAD_FIELDS = ['"abc"', '"NaN"', '"inf"', '""', '"1_0"', '"0x10"', "null", "true", "false", "[1]", "{}", "0", '"0"',
              "-1", '"-1.5"', "1e-400", '"1e999"', "1.5", '"1.5"', "12", '"12"', '"\u0661\u0662"', '" 12"', '"12 "',
              "18446744073709551616", '"18446744073709551616"', '"9223372036854775808"', '"99999999999999999999"',
              '"buy"', '"sell"', '"Buy"', '"BUY"', '"x"', "1652459224818", '"1652459224818"', '"9223372036855"',
              '"2021-04-17T16:43:37.089723Z"']


def _outcome(parse, frame) -> tuple:
    try:
        return "trades", repr([tuple(trade) for trade in parse(frame)])  # repr: 1 and 1.0 differ
    except FrameError as exc:
        return "error", exc.kind, str(exc)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden: the careful path must raise the same
        return "crash", type(exc).__name__, str(exc)


def _frames(name: str) -> list:
    """Setup frames (Bitfinex: the channel), recorded samples, simulator frames, cases, mutations."""
    setup, good, _, _ = good_frames(name, 60)
    frames = [*setup, *(frame for sample in sample_lines(name) for frame in frames_of(sample)), *good]
    for case in (case for case in CASES if case.venue == name and case.protocol is None):
        frames.append(case.good())
        for path in case.fields.values():
            frames.append(case.without(path))
            frames += [case.with_raw(path, fragment) for fragment in BAD_FIELDS]
        frames += [*case.unknown, case.error, *case.quiet]
    mutator = Mutator(seed=12)
    sources = [frame.encode() if isinstance(frame, str) else bytes(frame) for frame in frames]
    frames += [mutator.mutate(mutator.rng.choice(sources)) for _ in range(MUTATED)]
    return frames


@pytest.mark.parametrize("name", FAST)
def test_hot_path_matches_the_careful_path(name: str) -> None:
    fast, careful = venue(name).Parser(), venue(name).Parser()
    frames = _frames(name)
    trades = 0
    for frame in frames:
        for given in (frame, bytearray(frame.encode() if isinstance(frame, str) else frame)):
            expected = _outcome(careful.parse_careful, given)
            assert _outcome(fast.parse, given) == expected, given
            assert (fast.replayed, fast.replies) == (careful.replayed, careful.replies), given
            trades += expected[0] == "trades" and expected[1] != "[]"
    assert trades > 200  # trades came out, not only errors
    setup, good, _, _ = good_frames(name, 20)
    fresh = venue(name).Parser()
    for frame in setup:
        fresh.parse(frame)
    extra = (fresh.symbols,) if name == "bitfinex" else ()  # its channels, from the setup frame
    assert all(venue(name)._usual(orjson.loads(frame), *extra) for frame in good)  # the simulator's: the hot path


@pytest.mark.parametrize("name", FAST)
def test_the_ring_gets_the_same_bytes(name: str) -> None:
    """Both paths through the feed's frame handling (Session.texts -> TickWriter) in runs of 1 to 300
    frames: the same tick records, byte for byte, and the same counters."""
    frames = [bytearray(frame.encode() if isinstance(frame, str) else frame) for frame in _frames(name)]
    now_ns = time.time_ns()
    parser = venue(name).Parser()  # one for all frames: Bitfinex channels
    symbols = sorted({trade[0] for frame in frames for trade in _trades(parser, frame) if type(trade[0]) is str})  # symbol
    limits = Limits(behind_s=now_ns / 1e9)  # back to 1970: the recorded samples are years old
    sessions = [offline_session(name, symbols, limits) for _ in range(2)]
    sessions[1]._parse = sessions[1].parser.parse_careful
    for session in sessions:
        session.recv_ns, start = now_ns, 0
        for size in [1, 7, 60, 300] * (len(frames) // 300 + 1):
            session.texts(frames[start:start + size])
            session.writer.flush()
            start += size
    fast, careful = (session.writer.ring.records() for session in sessions)
    assert len(fast) > 50 and fast.tobytes() == careful.tobytes()
    assert sessions[0].metrics.values == sessions[1].metrics.values


def _trades(parser, frame) -> list:
    try:
        return parser.parse(frame)
    except Exception:  # noqa: BLE001 - only the symbols of good frames are wanted
        return []


ISO_TEXTS = [
    "2021-04-17T16:43:37.089723Z", "2021-04-17T16:43:37Z", "2021-04-17T16:43:37.1Z", "2021-04-17T16:43:37.123456789Z",
    "2021-04-17T16:43:37.1234567891Z", "2021-04-17T16:43:37.Z", "2021-04-17T16:43:37.08972Xz", "2021-04-17T16:43:37z",
    "2021-04-17T16:43:37.5+02:00", "2021-04-17T16:43:37.0897\u0663Z", "2021-04-17T16:43:37.089723", "2021-04-17T16:43:37,5Z",
    "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:16.854775808Z", "9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z",
    "2021-04-17t16:43:37.5Z", "2021-04-17T16:43:37.-5Z", "2021-04-17T16:43:37.+5Z", "2021-04-17T16:43:37. 5Z",
]


def test_iso_times_match_the_careful_path() -> None:
    """Each text twice: the careful path first (it remembers the clock reading), then the hot path."""
    for text in ISO_TEXTS:
        expected = _outcome(lambda t: [(normalize._ns_from_iso(t),)], text)
        assert _outcome(lambda t: [(normalize.ns_from_iso(t),)], text) == expected, text
        for suffix in (".5Z", "Z", ".123456789Z", ".1234567890Z", "+00:00"):  # other fractions of a known second
            other = text[:19] + suffix
            assert _outcome(lambda t: [(normalize.ns_from_iso(t),)], other) == \
                _outcome(lambda t: [(normalize._ns_from_iso(t),)], other), other


@pytest.mark.parametrize("value", ["1652459224818", "0", "", "-1", "+5", "1_0", "\u0661\u0662", "9" * 20, "9" * 21,
                                   str(normalize.MAX_NS // 1_000_000), str(normalize.MAX_NS // 1_000_000 + 1),
                                   1652459224818, -1, 1 << 70, 1.5, None, True])
def test_ms_times_and_spans_match_the_careful_path(value) -> None:
    def careful_ms(v):
        return [(normalize._in_range(normalize._integer(v, "ms timestamp") * 1_000_000, v),)]

    assert _outcome(lambda v: [(normalize.ns_from_ms(v),)], value) == _outcome(careful_ms, value)

def test_spans() -> None:
    assert [normalize.span(count) for count in ("1", 1, "01", "7", 7)] == [1, 1, 1, 7, 7]
    for count in (1.0, True, "0", 0, "", None, "1 "):
        with pytest.raises(FrameError):
            normalize.span(count)
