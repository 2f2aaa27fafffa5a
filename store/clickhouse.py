"""A ClickHouse server through clickhouse-driver: native protocol, LZ4 where it pays, columnar numpy inserts.

Inserts go through ``NativeClient`` (native_block.py, small_insert.py), which sends numpy
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
import struct

import numpy as np

from store.base import Store, StoreAuthError, StoreError, StoreRejected, StoreUnavailable, error_kind
from store.batch import Batch
from store.native_block import NumpyColumns
from store.schema import Capabilities
from store.url import StoreURL, redact

log = logging.getLogger(__name__)
# The driver logs every failed connect with a traceback; the writer reports outages itself.
logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)

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
            first = (exc.message or "").strip().splitlines()[0] if (exc.message or "").strip() else ""
            first = first.split(" Stack trace:")[0]
            text = redact(f"Code: {exc.code}. {first}".strip(), self.url.password)[:500]
            kind = error_kind(exc.code, text)
            if kind is StoreRejected and data is None:
                kind = StoreError  # a query, not a batch: nothing to quarantine
            if kind is StoreAuthError:
                text = f"authentication failed for user {self.url.user!r} ({text}); check the user and password"
            raise kind(f"{self.url}: {text}") from None
        except (errors.Error, OSError, EOFError) as exc:
            self._client.disconnect()
            raise StoreUnavailable(f"{self.url}: {redact(str(exc) or type(exc).__name__, self.url.password)}") from None
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError, struct.error) as exc:
            if data is None:
                raise
            # The driver could not encode the batch for the columns the server's table has now (a column whose type
            # was changed by hand, a value the type cannot hold): this batch cannot go in as it is.
            self._client.disconnect()
            raise StoreRejected(f"{self.url}: the batch does not fit the table's columns on the server "
                                f"({type(exc).__name__}: {redact(str(exc), self.url.password)[:300]})") from None

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
