"""A venue's ``symbols = "all"`` or filter, resolved at feed start from the venue's public instrument list.

``resolve(venue, selection, rest_url, cache_dir)`` fetches the lists (feeds/instruments.py says which paths and
how to read them) over HTTP(S) with a timeout and a size cap, keeps the instruments that trade now and match the
filter (``quote``: currencies, ``kind``: spot / perpetual / future / option), in the venue's order, and writes
them to ``<cache_dir>/<venue>.json``. When the venue cannot be asked or answers nonsense, the last good
resolution of the same selection is used with a logged warning, so a venue's REST outage does not stop its feed;
with no such file it is a ``UniverseError`` naming the venue, the URL and what went wrong (never a traceback).
"""
from __future__ import annotations

import json
import logging
import os
import stat
import time
import http.client
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson

from feeds.instruments import FEED_KINDS, KINDS, PARSERS, Instrument, good_symbol, paths

log = logging.getLogger("tickagg.universe")
MAX_RESPONSE_BYTES = 64 << 20  # Binance's exchangeInfo is the largest, ~20 MB
TIMEOUT_S = 15.0
MAX_CACHE_BYTES = 8 << 20


class UniverseError(ValueError):
    """A selection that cannot be resolved: names the venue and the URL or file."""


def selection_key(selection: Any) -> dict:
    """``"all"`` or a filter as a plain comparable dict: {"quote": [...], "kind": [...]} (both upper/lower cased)."""
    if selection == "all":
        return {"quote": [], "kind": []}
    items = {key: value if isinstance(value, list) else [value] for key, value in selection.items()}
    return {"quote": sorted({q.strip().upper() for q in items.get("quote", [])}),
            "kind": sorted({k.strip().lower() for k in items.get("kind", [])})}


def check_kinds(venue: str, selection: Any) -> None:
    """ValueError for a kind that is not one of KINDS or that the venue's feed does not take."""
    for kind in selection_key(selection)["kind"]:
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    paths(venue, tuple(selection_key(selection)["kind"]))


def choose(instruments: list[Instrument], selection: Any) -> list[str]:
    """The trading instruments ``selection`` keeps, in list order, each once."""
    key = selection_key(selection)
    quotes, kinds = set(key["quote"]), set(key["kind"])
    chosen = [i.symbol for i in instruments if i.trading and (not quotes or i.quote in quotes)
              and (not kinds or i.kind in kinds)]
    return list(dict.fromkeys(chosen))


class _HTTPOnly(urllib.request.HTTPRedirectHandler):
    """Redirects are followed to http(s) only (never ftp: or file:)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.URLError(f"redirected to {newurl[:120]!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HTTPOnly)


def fetch(venue: str, url: str, timeout: float = TIMEOUT_S) -> Any:
    """The decoded JSON at ``url``, read within ``timeout`` in all; UniverseError naming the venue and URL."""
    request = urllib.request.Request(url, headers={"User-Agent": "tickagg", "Accept": "application/json"})
    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            while size <= MAX_RESPONSE_BYTES:
                if time.monotonic() > deadline:  # a server that drips its answer
                    raise UniverseError(f"{venue}: {url}: no whole answer within {timeout:g} s")
                chunk = response.read1(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except UniverseError:
        raise
    except urllib.error.HTTPError as exc:
        raise UniverseError(f"{venue}: {url}: HTTP {exc.code} {str(exc.reason)[:80]}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:  # refused, timeout, cut
        raise UniverseError(f"{venue}: {url}: {str(getattr(exc, 'reason', None) or exc)[:160]}") from None
    if size > MAX_RESPONSE_BYTES:
        raise UniverseError(f"{venue}: {url}: the answer is larger than {MAX_RESPONSE_BYTES:,} bytes")
    body = b"".join(chunks)
    try:
        return orjson.loads(body)
    except (ValueError, RecursionError) as exc:
        raise UniverseError(f"{venue}: {url}: not JSON: {str(exc)[:120]}") from None


def instruments(venue: str, selection: Any, rest_url: str, timeout: float = TIMEOUT_S) -> list[Instrument]:
    """Every instrument of the lists ``selection`` needs; UniverseError naming the venue and URL."""
    kinds = tuple(selection_key(selection)["kind"]) or FEED_KINDS[venue]
    result, skipped = [], 0
    for path in paths(venue, kinds):
        url = rest_url.rstrip("/") + path
        try:
            parsed = PARSERS[venue](fetch(venue, url, timeout), path)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, UniverseError):
                raise
            raise UniverseError(f"{venue}: {url}: unexpected answer: {str(exc)[:160]}") from None
        skipped += sum(item is None for item in parsed)
        result += [item for item in parsed if item is not None]
    if skipped:
        log.warning("%s: %d instrument(s) of %s not as the venue documents them: left out", venue, skipped, rest_url)
    return result


def resolve(venue: str, selection: Any, rest_url: str, cache_dir: str | None, timeout: float = TIMEOUT_S) -> list[str]:
    """The symbols ``selection`` stands for now (or, when the venue fails, at the last good resolution)."""
    try:
        symbols = choose(instruments(venue, selection, rest_url, timeout), selection)
        if not symbols:
            raise UniverseError(f"{venue}: {rest_url}: no trading instrument matches {_shown(selection)}")
    except UniverseError as exc:
        cached = _read_cache(venue, selection, cache_dir)
        if cached is None:
            raise
        log.warning("%s; using the last good resolution (%d symbols, %s)", exc, len(cached[0]), cached[1])
        return cached[0]
    if cache_dir is not None:
        _write_cache(venue, selection, symbols, rest_url, cache_dir)
    log.info("%s: %s resolved to %d symbols from %s", venue, _shown(selection), len(symbols), rest_url)
    return symbols


def _shown(selection: Any) -> str:
    return '"all"' if selection == "all" else json.dumps(selection_key(selection))


def cache_path(venue: str, cache_dir: str) -> str:
    return os.path.join(cache_dir, f"{venue}.json")


def _write_cache(venue: str, selection: Any, symbols: list[str], url: str, cache_dir: str) -> None:
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        path = cache_path(venue, cache_dir)
        temporary = f"{path}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"venue": venue, "selection": selection_key(selection), "url": url,
                       "resolved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "symbols": symbols}, handle)
        os.replace(temporary, path)
    except OSError as exc:  # the feed still runs; only the fallback is lost
        log.warning("%s: cannot keep the resolved universe in %s: %s", venue, cache_dir, exc)


def _read_cache(venue: str, selection: Any, cache_dir: str | None) -> tuple[list[str], str] | None:
    """(symbols, when) of the last good resolution of this selection; None when there is none worth trusting."""
    if cache_dir is None:
        return None
    path = cache_path(venue, cache_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO: no waiting
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            data = json.loads(handle.read(MAX_CACHE_BYTES + 1)[:MAX_CACHE_BYTES + 1])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("%s: ignoring the cached universe %s: %s", venue, path, exc)
        return None
    symbols = data.get("symbols") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("venue") != venue or data.get("selection") != selection_key(selection)
            or not isinstance(symbols, list) or not symbols
            or not all(isinstance(s, str) and good_symbol(s) for s in symbols)):  # as a venue's list is checked
        log.warning("%s: ignoring the cached universe %s: not a resolution of this selection", venue, path)
        return None
    return symbols, f"resolved at {str(data.get('resolved_at'))[:40]} from {str(data.get('url'))[:200]}"
