"""A ClickHouse server through clickhouse-driver: native protocol, LZ4 compression, columnar numpy inserts.

Inserts go through ``NativeClient`` (native_block.py), which sends numpy
columns as Native-format bytes without the driver's pandas-based numpy path.

One connection, short timeouts (a down server must turn into a spilled batch
in about a second, not after the driver's default 5 minutes), and every error
text passed through ``redact`` so the password never reaches a log.
clickhouse-driver silently drops settings the server does not know, so
``insert_deduplication_token`` is only relied upon when the server version has
it (schema.Capabilities.dedup_token).
"""
from __future__ import annotations

import logging

import numpy as np

from store.base import Store, StoreError, StoreUnavailable
from store.batch import Batch
from store.native_block import NumpyColumns
from store.schema import Capabilities
from store.url import StoreURL, redact

log = logging.getLogger(__name__)
# The driver logs every failed connect with a traceback; the writer reports outages itself.
logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)

# Server error codes that mean "not now" rather than "never": retry (spill meanwhile).
TRANSIENT_CODES = {
    159,  # TIMEOUT_EXCEEDED
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    243,  # NOT_ENOUGH_SPACE
    252,  # TOO_MANY_PARTS
    319,  # UNKNOWN_STATUS_OF_INSERT
    394,  # QUERY_WAS_CANCELLED
}


class ClickHouseStore(Store):
    kind = "clickhouse"

    def __init__(self, url: StoreURL, connect_timeout: float = 2.0, timeout: float = 10.0):
        super().__init__(url)
        self.connect_timeout, self.timeout = connect_timeout, timeout
        self._client = None

    def connect(self) -> None:
        from store.native_block import NativeClient

        self.close()
        self._client = NativeClient(
            host=self.url.host,
            port=self.url.port,
            user=self.url.user,
            password=self.url.password,
            compression="lz4",
            connect_timeout=self.connect_timeout,
            send_receive_timeout=self.timeout,
            sync_request_timeout=self.connect_timeout,
            client_name="tickagg-writer",
            # TLS (clickhouses:// or ?secure=1): certificate and host name always verified
            secure=self.url.secure,
            verify=True,
            ca_certs=self.url.ca or None,
        )
        version = self.execute("SELECT version()")[0][0]
        self.caps = Capabilities.from_version(str(version))

    def _call(self, sql: str, data=None, **kwargs):
        if self._client is None:
            raise StoreUnavailable(f"not connected to {self.url}")
        from clickhouse_driver import errors

        try:
            if data is None:
                return self._client.execute(sql, **kwargs)
            return self._client.execute(sql, data, **kwargs)
        except errors.ServerException as exc:
            text = redact(str(exc), self.url.password).splitlines()[0]
            if exc.code in TRANSIENT_CODES:
                raise StoreUnavailable(f"{self.url}: {text}") from None
            raise StoreError(f"{self.url}: {text}") from None
        except (errors.Error, OSError, EOFError) as exc:
            self._client.disconnect()
            raise StoreUnavailable(f"{self.url}: {redact(str(exc) or type(exc).__name__, self.url.password)}") from None

    def execute(self, sql: str) -> list[tuple]:
        return self._call(sql)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        rows, columns = self._call(sql, with_column_types=True)
        return [name for name, _ in columns], rows

    def insert_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        self._call(f"INSERT INTO {table} ({', '.join(f'`{c}`' for c in columns)}) VALUES", rows)

    def _insert(self, batch: Batch, records: np.ndarray, dedup: bool) -> None:
        table = batch.table
        settings = {"insert_deduplication_token": batch.token} if dedup else {}
        arrays = NumpyColumns(table.column_arrays(records, batch.id))
        sql = f"INSERT INTO {self.database}.{table.name} ({', '.join(f'`{c}`' for c in table.column_names)}) VALUES"
        self._call(sql, arrays, columnar=True, settings=settings, query_id=batch.token, types_check=False)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # noqa: BLE001 — closing a broken connection
                pass
            self._client = None
