"""Store URLs: which store the writer talks to, and how to print one without its password.

::

  clickhouse://user:password@host:9000/db         a ClickHouse server (native protocol, clickhouse-driver)
  clickhouses://user@host:9440/db?ca=/path/ca.pem  the same over TLS (also ``clickhouse://...?secure=1``):
                                                  the server certificate and host name are always verified,
                                                  against ``ca`` or else the system's CA bundle
  chdb:///abs/path/to/dir                         embedded ClickHouse (chDB) in that directory
  chdb://relative/dir  or  chdb:dir               the same, relative to the working directory

Precedence: ``--store`` > ``TICKAGG_STORE`` > ``CLICKHOUSE_URL`` > ``chdb://./data``
(a fresh machine needs no server). The password comes from the URL or, when the
URL has none, from ``TICKAGG_STORE_PASSWORD``, else ``CLICKHOUSE_PASSWORD``: a
password on a command line is readable by every local user (/proc/PID/cmdline),
so `tickagg run` hands it to the writer in its environment (``without_password``
plus ``PASSWORD_ENV``). ``str(url)`` and ``redact`` never show it.
"""
from __future__ import annotations

import dataclasses
import os
import re
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

DEFAULT_STORE = "chdb://./data"
DEFAULT_DATABASE = "tickagg"
DEFAULT_PORT = 9000
DEFAULT_SECURE_PORT = 9440
PASSWORD_ENV = "TICKAGG_STORE_PASSWORD"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


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
    secure: bool = False  # TLS, certificate and host name verified
    ca: str = ""  # CA file to verify the server's certificate against ("" = the system's bundle)

    def __str__(self) -> str:
        if self.kind == "chdb":
            return f"chdb://{self.path}"
        return self._text(":***" if self.password else "")

    def without_password(self) -> str:
        """This URL as text with no password (what may go on a command line)."""
        return str(self) if self.kind == "chdb" else self._text("")

    def _text(self, secret: str) -> str:
        scheme = "clickhouses" if self.secure else "clickhouse"
        query = f"?ca={quote(self.ca)}" if self.ca else ""
        return f"{scheme}://{quote(self.user, safe='')}{secret}@{self.host}:{self.port}/{self.database}{query}"


def parse(text: str, environ: dict | None = None) -> StoreURL:
    """Parse a store URL; a ClickHouse URL without a password takes it from the environment."""
    environ = os.environ if environ is None else environ
    text = text.strip()
    if text.startswith("chdb:"):
        path = text[len("chdb:") :]
        if path.startswith("//"):
            path = path[2:]
        if "?" in path:  # chDB reads what follows a "?" as its engine's settings (store/chdb_store.py engine_path)
            raise StoreURLError(f"chDB store {text!r}: a chDB directory may not contain '?' (chDB takes what follows "
                                f"it as settings); the embedded store takes no options")
        return StoreURL(kind="chdb", path=os.path.abspath(path or "./data"))
    if not text.startswith(("clickhouse://", "clickhouses://")):
        raise StoreURLError(f"unknown store {redact(text)!r}: use clickhouse://user@host:9000/db, "
                            f"clickhouses://user@host:9440/db (TLS) or chdb:///path")
    try:
        parts = urlsplit(text)
        explicit_port = parts.port
    except ValueError:
        raise StoreURLError(f"bad ClickHouse URL {redact(text)!r}") from None
    if not parts.hostname:
        raise StoreURLError(f"ClickHouse URL {redact(text)!r} has no host")
    database = parts.path.strip("/") or DEFAULT_DATABASE
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise StoreURLError(f"bad database name {database!r} in {redact(text)!r}")
    secure, ca = _options(parts.query, parts.scheme == "clickhouses", redact(text))
    if parts.password is not None:
        password = unquote(parts.password)
    else:
        password = environ.get(PASSWORD_ENV) or environ.get("CLICKHOUSE_PASSWORD", "")
    return StoreURL(
        kind="clickhouse",
        host=parts.hostname,
        port=explicit_port or (DEFAULT_SECURE_PORT if secure else DEFAULT_PORT),
        user=unquote(parts.username) if parts.username else "default",
        password=password,
        database=database,
        secure=secure,
        ca=ca,
    )


def _options(query: str, secure: bool, shown: str) -> tuple[bool, str]:
    """``secure`` and ``ca`` from the URL's query; any other key is refused by name."""
    ca = ""
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "secure" and value.lower() in _TRUE + _FALSE:
            secure = secure or value.lower() in _TRUE
        elif key == "secure":
            raise StoreURLError(f"secure={value!r} in {shown!r}: use secure=1 or secure=0")
        elif key == "ca":
            ca = os.path.abspath(value)
            if not os.path.isfile(ca):
                raise StoreURLError(f"CA file {ca} (ca= in the store URL) does not exist")
            secure = True
        else:
            raise StoreURLError(f"unknown option {key!r} in store URL {shown!r}: known options are secure and ca")
    return secure, ca


def configured(option: str | None = None, environ: dict | None = None) -> StoreURL:
    """The store to use: ``option`` (``--store``), else the environment, else the embedded default."""
    environ = os.environ if environ is None else environ
    text = option or environ.get("TICKAGG_STORE") or environ.get("CLICKHOUSE_URL") or DEFAULT_STORE
    return parse(text, environ)


def for_child(text: str, environ: dict | None = None) -> tuple[str, dict[str, str]]:
    """``text`` for a child process's command line (no password) and the environment entries that carry the password."""
    url = parse(text, environ)
    return url.without_password(), ({PASSWORD_ENV: url.password} if url.password else {})


# scheme://user:password@ — the password runs to the LAST "@" of the line, so one that contains "@", ":", "/" or
# spaces is hidden whole (text after it on the same line that has an "@" is hidden too: too much, never too little).
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^\n]*)@", re.IGNORECASE)


def redact(text: str, password: str = "") -> str:
    """``text`` with URL passwords (and ``password`` itself, raw or percent-encoded, if given) replaced by ``***``."""
    text = str(text)
    if password:
        for form in sorted({password, quote(password, safe=""), quote(password), quote_plus(password)}, key=len,
                           reverse=True):
            text = text.replace(form, "***")
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
