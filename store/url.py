"""Store URLs: which store the writer talks to, and how to print one without its password.

::

  clickhouse://user:password@host:9000/db   a ClickHouse server (native protocol, clickhouse-driver)
  chdb:///abs/path/to/dir                   embedded ClickHouse (chDB) in that directory
  chdb://relative/dir  or  chdb:dir         the same, relative to the working directory

Precedence: ``--store`` > ``TICKAGG_STORE`` > ``CLICKHOUSE_URL`` > ``chdb://./data``
(a fresh machine needs no server). The password comes from the URL or, when the
URL has none, from ``CLICKHOUSE_PASSWORD``. ``str(url)`` and ``redact`` never show it.
"""
from __future__ import annotations

import dataclasses
import os
import re
from urllib.parse import unquote, urlsplit

DEFAULT_STORE = "chdb://./data"
DEFAULT_DATABASE = "tickagg"
DEFAULT_PORT = 9000


class StoreURLError(ValueError):
    """A store URL that cannot be used (the message never contains the password)."""


@dataclasses.dataclass(frozen=True)
class StoreURL:
    kind: str  # "clickhouse" or "chdb"
    host: str = ""
    port: int = DEFAULT_PORT
    user: str = "default"
    password: str = dataclasses.field(default="", repr=False)
    database: str = DEFAULT_DATABASE
    path: str = ""  # chdb: data directory

    def __str__(self) -> str:
        if self.kind == "chdb":
            return f"chdb://{self.path}"
        secret = ":***" if self.password else ""
        return f"clickhouse://{self.user}{secret}@{self.host}:{self.port}/{self.database}"


def parse(text: str, environ: dict | None = None) -> StoreURL:
    """Parse a store URL; a ClickHouse URL without a password takes ``CLICKHOUSE_PASSWORD``."""
    environ = os.environ if environ is None else environ
    text = text.strip()
    if text.startswith("chdb:"):
        path = text[len("chdb:") :]
        if path.startswith("//"):
            path = path[2:]
        return StoreURL(kind="chdb", path=os.path.abspath(path or "./data"))
    if not text.startswith("clickhouse://"):
        raise StoreURLError(f"unknown store {redact(text)!r}: use clickhouse://user:password@host:9000/db or chdb:///path")
    try:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise StoreURLError(f"bad ClickHouse URL {redact(text)!r}") from None
    if not parts.hostname:
        raise StoreURLError(f"ClickHouse URL {redact(text)!r} has no host")
    database = parts.path.strip("/") or DEFAULT_DATABASE
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise StoreURLError(f"bad database name {database!r} in {redact(text)!r}")
    password = unquote(parts.password) if parts.password is not None else environ.get("CLICKHOUSE_PASSWORD", "")
    return StoreURL(
        kind="clickhouse",
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else "default",
        password=password,
        database=database,
    )


def configured(option: str | None = None, environ: dict | None = None) -> StoreURL:
    """The store to use: ``option`` (``--store``), else the environment, else the embedded default."""
    environ = os.environ if environ is None else environ
    text = option or environ.get("TICKAGG_STORE") or environ.get("CLICKHOUSE_URL") or DEFAULT_STORE
    return parse(text, environ)


_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@", re.IGNORECASE)


def redact(text: str, password: str = "") -> str:
    """``text`` with URL passwords (and ``password`` itself, if given) replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", str(text))
    if password:
        text = text.replace(password, "***")
    return text
