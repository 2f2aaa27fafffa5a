"""A private clickhouse-server (Debian's package) for tests and benches: own config, free loopback ports, temp data.

Never the system service: the package's own service (if any) listens on 9000
with /var/lib/clickhouse; this one gets a generated config, ports picked free
on 127.0.0.1, and a data directory of its own, and is stopped by whoever
started it. ``stop``/``start`` keep the data directory and ports, so a test can
take the server away mid-stream and bring the same one back. With ``tls=(certificate
file, private key file)`` it also serves the native protocol over TLS on
``tcp_port_secure`` (``url(secure=True)``).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SERVER_BINARIES = ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")
PASSWORD = "tickagg-test-password"  # the "writer" user's; the "default" user has none

_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{root}/log/server.log</log><errorlog>{root}/log/error.log</errorlog><size>20M</size><count>1</count></logger>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <timezone>UTC</timezone>{tls}
</yandex>
"""
# ClickHouse 18.16's syntax: the native protocol over TLS on tcp_port_secure, with this certificate and key
# (the server does not ask clients for certificates).
_TLS = """
  <tcp_port_secure>{port}</tcp_port_secure>
  <openSSL><server>
    <certificateFile>{certificate}</certificateFile><privateKeyFile>{key}</privateKeyFile>
    <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>
    <cacheSessions>true</cacheSessions><disableProtocols>sslv2,sslv3</disableProtocols><preferServerCiphers>true</preferServerCiphers>
  </server></openSSL>"""
_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <writer><password>{password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></writer>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows>
    <read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


class ServerError(RuntimeError):
    """The private server could not be started."""


def server_binary() -> str | None:
    for path in SERVER_BINARIES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("clickhouse-server")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    def __init__(self, root: str | None = None, tls: tuple[str, str] | None = None):
        binary = server_binary()
        if binary is None:
            raise ServerError("clickhouse-server is not installed (Debian: apt-get install clickhouse-server; `make test` does it)")
        self.binary = binary
        self._own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="tickagg-clickhouse-")
        self.tcp_port, self.http_port = free_port(), free_port()
        self.tcp_port_secure = free_port() if tls else None
        tls_config = _TLS.format(port=self.tcp_port_secure, certificate=tls[0], key=tls[1]) if tls else ""
        for sub in ("log", "data", "tmp", "user_files", "format_schemas"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        with open(os.path.join(self.root, "config.xml"), "w") as f:
            f.write(_CONFIG.format(root=self.root, tcp_port=self.tcp_port, http_port=self.http_port, tls=tls_config))
        with open(os.path.join(self.root, "users.xml"), "w") as f:
            f.write(_USERS.format(password=PASSWORD))
        self.process: subprocess.Popen | None = None

    def url(self, database: str = "tickagg", user: str = "writer", password: str | None = PASSWORD,
            secure: bool = False, host: str = "127.0.0.1") -> str:
        """A store URL for this server; ``secure``: over TLS (``clickhouses://``, the server must have ``tls``)."""
        secret = f":{password}" if password else ""
        if secure:
            if self.tcp_port_secure is None:
                raise ServerError("this server was started without tls=(certificate, key)")
            return f"clickhouses://{user}{secret}@{host}:{self.tcp_port_secure}/{database}"
        return f"clickhouse://{user}{secret}@{host}:{self.tcp_port}/{database}"

    def start(self, timeout_s: float = 30.0) -> "LocalServer":
        if self.running:
            return self
        log = open(os.path.join(self.root, "log", "stdout.log"), "ab")
        self.process = subprocess.Popen(
            [self.binary, f"--config-file={self.root}/config.xml"], cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"clickhouse-server exited with {self.process.returncode}; see {self.root}/log/")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"clickhouse-server did not answer on 127.0.0.1:{self.tcp_port} within {timeout_s} s")

    def _answers(self) -> bool:
        import logging

        from clickhouse_driver import Client

        logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)  # "connection refused" while it starts

        client = Client(host="127.0.0.1", port=self.tcp_port, connect_timeout=1, send_receive_timeout=5)
        try:
            return client.execute("SELECT 1") == [(1,)]
        except Exception:  # noqa: BLE001 — not up yet
            return False
        finally:
            client.disconnect()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, kill: bool = False, timeout_s: float = 20.0) -> None:
        """Stop the server (SIGTERM, or SIGKILL with ``kill``); the data directory stays."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()
