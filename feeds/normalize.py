"""Field conversions shared by every venue parser: JSON, numbers, times, ids.

Each helper either returns the normalized value or raises ``FrameError`` with
the counter name (``kind``) the feed loop records. They are on the hot path:
no regexes, no Decimal, no datetime objects.

Parsers themselves raise ``venue_error`` (the venue's own error frame),
``unknown_message`` (a frame the venue module does not know) and, for
Bitfinex, ``unknown_channel`` (trades on a chanId never subscribed).
Error kinds raised here:

| kind            | raised for                                                    |
| --------------- | ------------------------------------------------------------- |
| ``json``        | not valid JSON (includes bare ``NaN``/``Infinity``, 1e999, binary) |
| ``bad_number``  | price/size not a number: text like "abc"/"nan"/"inf", null, bool |
| ``bad_price``   | price zero or negative                                        |
| ``bad_size``    | size zero or negative                                         |
| ``bad_timestamp`` | time field malformed, non-integer, before 1970 or beyond int64 ns (2262) |
| ``bad_trade_id``  | trade id neither an integer nor a non-empty string          |
| ``bad_side``    | side word or flag the venue does not define                   |
| ``missing_field`` | a required field absent or of the wrong JSON type           |
"""
from __future__ import annotations

import orjson

from feeds.trade import BUY, SELL, FrameError, shown

_INF = float("inf")
_NS_PER_S = 1_000_000_000
MAX_NS = (1 << 63) - 1  # a tick's time is an int64 of ns (up to 2262-04-11); beyond, it cannot be stored
_MAX_MS = MAX_NS // 1_000_000
_MAX_DIGITS = 20  # digits of the longest u64: longer digit text is no time, sequence or numeric id
_FRACTION_SCALE = (1, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def load_json(frame: str | bytes) -> object:
    """Decode one text frame; ``FrameError('json')`` if it is not JSON."""
    try:
        return orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise FrameError("json", f"malformed JSON: {exc}") from None


def _number(value: object, what: str) -> float:
    """A finite float from a JSON number or its decimal text."""
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)
    elif kind is str and "_" not in value:
        try:
            number = float(value)
        except ValueError:
            raise FrameError("bad_number", f"{what} {shown(value)} is not a number") from None
    else:
        raise FrameError("bad_number", f"{what} {shown(value)} is not a number")
    if number != number or number == _INF or number == -_INF:
        raise FrameError("bad_number", f"{what} {shown(value)} is not finite")
    return number


def price(value: object) -> float:
    """A positive finite price from a JSON number or decimal string."""
    if type(value) is str and "_" not in value:  # fast path: decimal text, the usual case
        try:
            number = float(value)
        except ValueError:
            raise FrameError("bad_number", f"price {shown(value)} is not a number") from None
        if 0.0 < number < _INF:
            return number
    number = _number(value, "price")
    if number <= 0.0:
        raise FrameError("bad_price", f"price {shown(value)} is not positive")
    return number


def size(value: object) -> float:
    """A positive finite size from a JSON number or decimal string."""
    if type(value) is str and "_" not in value:
        try:
            number = float(value)
        except ValueError:
            raise FrameError("bad_number", f"size {shown(value)} is not a number") from None
        if 0.0 < number < _INF:
            return number
    number = _number(value, "size")
    if number <= 0.0:
        raise FrameError("bad_size", f"size {shown(value)} is not positive")
    return number


def signed_size(value: object) -> float:
    """A non-zero finite size whose sign carries the side (Bitfinex AMOUNT)."""
    number = _number(value, "size")
    if number == 0.0:
        raise FrameError("bad_size", f"size {shown(value)} is zero")
    return number


def _integer(value: object, what: str) -> int:
    """A non-negative integer from a JSON integer or a string of at most 20 ASCII digits."""
    kind = type(value)
    if kind is int:
        if value >= 0:
            return value
    elif kind is str and len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    raise FrameError("bad_timestamp", f"{what} {shown(value)} is not a non-negative integer")


def _in_range(ns: int, value: object) -> int:
    """``ns`` if a tick can hold it (0 .. int64 max); ``bad_timestamp`` otherwise. (Whether a time is
    plausible is for the feed to say, against its receive time: feeds/plausible.py.)"""
    if 0 <= ns <= MAX_NS:
        return ns
    raise FrameError("bad_timestamp", f"timestamp {shown(value)} is out of range (1970 to 2262)")


def ns_from_ms(value: object) -> int:
    """Epoch milliseconds (int or digit string) -> ns, exactly."""
    kind = type(value)
    if kind is int:
        if 0 <= value <= _MAX_MS:
            return value * 1_000_000
    elif kind is str and len(value) <= _MAX_DIGITS and value.isdigit() and value.isascii():  # _integer, inlined
        ms = int(value)
        if ms <= _MAX_MS:
            return ms * 1_000_000
    return _in_range(_integer(value, "ms timestamp") * 1_000_000, value)


def ns_from_us(value: object) -> int:
    """Epoch microseconds (int or digit string) -> ns, exactly."""
    return _in_range(_integer(value, "us timestamp") * 1_000, value)


def ns_from_ns(value: object) -> int:
    """Epoch nanoseconds (int or digit string), checked."""
    return _in_range(_integer(value, "ns timestamp"), value)


def ns_from_decimal_seconds(text: object) -> int:
    """``"1618678142.557535"`` (seconds with up to 9 fraction digits) -> ns, exactly."""
    if type(text) is not str:
        raise FrameError("bad_timestamp", f"seconds {shown(text)} is not a string")
    whole, dot, fraction = text.partition(".")
    if not (len(whole) <= _MAX_DIGITS and whole.isascii() and whole.isdigit()) or (
        dot and not (len(fraction) <= 9 and fraction.isascii() and fraction.isdigit())
    ):
        raise FrameError("bad_timestamp", f"seconds {shown(text)} is not a decimal number")
    nanos = int(fraction) * _FRACTION_SCALE[len(fraction)] if dot else 0
    return _in_range(int(whole) * _NS_PER_S + nanos, text)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


_DAY_SECONDS: dict[str, int] = {}  # "YYYY-MM-DD" -> epoch seconds at its midnight UTC
_DAY_CACHE_MAX = 4096


def _day_seconds(date: str) -> int:
    """Epoch seconds of a ``YYYY-MM-DD`` midnight (validated, then cached)."""
    digits = date[0:4] + date[5:7] + date[8:10]
    if len(date) != 10 or date[4] != "-" or date[7] != "-" or len(digits) != 8 or not digits.isdigit():
        raise FrameError("bad_timestamp", f"date {shown(date)} is not YYYY-MM-DD")
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month] + leap):
        raise FrameError("bad_timestamp", f"date {shown(date)} does not exist")
    seconds = _days_from_civil(year, month, day) * 86400
    if len(_DAY_SECONDS) < _DAY_CACHE_MAX:
        _DAY_SECONDS[date] = seconds
    return seconds


_CLOCK_SECONDS: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS", validated -> epoch seconds of that clock reading
_CLOCK_CACHE_MAX = 4096  # a new second each second: emptied when full


def ns_from_iso(text: object) -> int:
    """``YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`` -> ns since the epoch, exactly.

    Integer arithmetic only; a timestamp without a zone is rejected (ambiguous).
    The hot path: a UTC time (``Z``) whose date and clock were validated before
    (``_CLOCK_SECONDS``) only has its fraction checked; anything else, the careful path.
    """
    if type(text) is str:
        seconds = _CLOCK_SECONDS.get(text[:19])
        if seconds is not None:
            last = len(text) - 1
            if text[last] == "Z":
                if last == 19:
                    ns = seconds * _NS_PER_S
                    if 0 <= ns <= MAX_NS:
                        return ns
                elif 21 <= last <= 29 and text[19] == ".":
                    fraction = text[20:last]
                    if fraction.isdigit() and fraction.isascii():
                        ns = seconds * _NS_PER_S + int(fraction) * _FRACTION_SCALE[last - 20]
                        if 0 <= ns <= MAX_NS:
                            return ns
    return _ns_from_iso(text)


def _ns_from_iso(text: object) -> int:
    """``ns_from_iso``'s careful path: every part checked; remembers a valid date and clock (``_CLOCK_SECONDS``)."""
    if type(text) is not str or len(text) < 20 or not text.isascii():
        raise FrameError("bad_timestamp", f"timestamp {shown(text)} is not ISO-8601")
    day = _DAY_SECONDS.get(text[:10])
    if day is None:
        day = _day_seconds(text[:10])
    clock = text[11:13] + text[14:16] + text[17:19]
    if text[10] not in "Tt" or text[13] != ":" or text[16] != ":" or not clock.isdigit():
        raise FrameError("bad_timestamp", f"timestamp {shown(text)} is not ISO-8601")
    clock = int(clock)
    hour, minute, second = clock // 10000, clock // 100 % 100, clock % 100
    if hour > 23 or minute > 59 or second > 59:
        raise FrameError("bad_timestamp", f"timestamp {shown(text)} is out of range")
    if len(_CLOCK_SECONDS) >= _CLOCK_CACHE_MAX:
        _CLOCK_SECONDS.clear()
    _CLOCK_SECONDS[text[:19]] = day + hour * 3600 + minute * 60 + second
    rest = text[19:]
    if rest[-1] == "Z" or rest[-1] == "z":
        offset_s = 0
        rest = rest[:-1]
    elif len(rest) >= 6 and rest[-6] in "+-" and rest[-3] == ":" and (rest[-5:-3] + rest[-2:]).isdigit():
        offset_s = (int(rest[-5:-3]) * 3600 + int(rest[-2:]) * 60) * (1 if rest[-6] == "+" else -1)
        rest = rest[:-6]
    else:
        raise FrameError("bad_timestamp", f"timestamp {shown(text)} has no zone (Z or ±HH:MM)")
    nanos = 0
    if rest:
        fraction = rest[1:]
        if rest[0] != "." or not 1 <= len(fraction) <= 9 or not fraction.isdigit():
            raise FrameError("bad_timestamp", f"timestamp {shown(text)}: '.' and 1 to 9 fraction digits expected")
        nanos = int(fraction) * _FRACTION_SCALE[len(fraction)]
    return _in_range((day + hour * 3600 + minute * 60 + second - offset_s) * _NS_PER_S + nanos, text)


def trade_id(value: object) -> str:
    """The venue's trade id as text: ``str(int)`` for numeric ids, strings unchanged."""
    kind = type(value)
    if kind is str and value:
        return value
    if kind is int:
        return str(value)
    raise FrameError("bad_trade_id", f"trade id {shown(value)} is neither an integer nor text")


def sequence(value: object) -> int:
    """A venue sequence number (int or digit string, int64) for gap detection; -1 if it is not one."""
    if type(value) is int:
        return value if 0 <= value <= MAX_NS else -1
    if type(value) is str and len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit():
        number = int(value)
        return number if number <= MAX_NS else -1
    return -1


def span(value: object) -> int:
    """How many venue sequence numbers one trade covers (OKX ``count``): a positive integer up to 10^9."""
    if type(value) is int and 0 < value <= 1_000_000_000:
        return value
    if value == "1":  # OKX writes it as text, nearly always "1"
        return 1
    if type(value) is str and 0 < len(value) <= 10 and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise FrameError("bad_number", f"trade count {shown(value)} is not a positive integer")


# what reading a frame of the wrong shape raises; parsers turn it into ``missing(exc)``
SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError)


def not_json_object(frame: str | bytes | memoryview, what: str = "a JSON object") -> FrameError:
    """The ``unknown_message`` error for a frame that decoded to something else; quotes its start (80 characters)."""
    excerpt = bytes(frame[:80]) if isinstance(frame, memoryview) else frame[:80]
    return FrameError("unknown_message", f"not {what}: {shown(excerpt)}")


def missing(exc: Exception) -> FrameError:
    """The ``missing_field`` error for a KeyError/IndexError/TypeError met while reading a frame."""
    if isinstance(exc, KeyError):
        return FrameError("missing_field", f"field {exc.args[0]!r} is missing")
    return FrameError("missing_field", f"a required field is missing or of the wrong type ({exc})")


def side(sides: dict, value: object) -> int:
    """Look a venue's side word up in ``sides`` (word -> BUY/SELL/UNKNOWN)."""
    found = sides.get(value)
    if found is None:
        raise FrameError("bad_side", f"side {shown(value)} is not one of {sorted(sides)}")
    return found


def side_from_buyer_is_maker(value: object) -> int:
    """Binance/Gemini ``m`` ("buyer is the maker"): true means the taker sold."""
    if value is True:
        return SELL
    if value is False:
        return BUY
    raise FrameError("bad_side", f"buyer-is-maker flag {shown(value)} is not a boolean")
