"""A small insert's query and replies with less of clickhouse-driver's per-query Python (store/native_block.py).

An idle group's writer makes a few inserts of a few rows a second; through
the driver each cost ~1.5 ms of CPU, most of it not in sending the rows:

- the query packet: the driver builds a ``ClientInfo`` per query, which asks
  the OS user (``getpwuid``: opens and reads /etc/passwd) and the host name
  each time. ``send_query`` here writes the same packet, byte for byte, with
  one ``ClientInfo`` per connection (its query start time set per query, as
  the driver's fresh one has it), and the empty block that ends the (no)
  external tables in the same write: one send, not two;
- the server's sample block (the table's column names and types, no rows):
  the driver parses it field by field every time. ``SampleBlocks.receive``
  knows the exact bytes the server sends for a query it has seen (the
  parsed block's columns, written back the way the server writes them): when
  the reader's buffer starts with them it skips them and answers the block
  parsed the first time. Anything else (an exception, another column type
  after an ``ALTER``, a newer server's extra packets, a reply split across
  reads) is left where it is for the driver to read as before.

Only for uncompressed queries (native_block.py sends inserts of fewer than
``SMALL_INSERT_ROWS`` rows uncompressed) and the driver these follow
(clickhouse-driver 0.2.x, ``Connection.send_query``, ``send_external_tables``,
``Client.receive_sample_block``); tests/integration/test_store_native_block.py checks them against the real server.
"""
from __future__ import annotations

import functools
import time
from io import BytesIO

from clickhouse_driver import defines
from clickhouse_driver.block import BlockInfo
from clickhouse_driver.clientinfo import ClientInfo
from clickhouse_driver.protocol import ClientPacketTypes, ServerPacketTypes
from clickhouse_driver.queryprocessingstage import QueryProcessingStage
from clickhouse_driver.settings.writer import SettingsFlags, write_settings
from clickhouse_driver.varint import write_varint
from clickhouse_driver.writer import write_binary_str


def can_send(connection) -> bool:
    """Whether ``send_query`` writes what the driver would for this connection (else: the driver's own)."""
    return connection.connected and not connection.compression \
        and not connection.context.client_settings["server_side_params"]


def send_query(connection, query: str, query_id: str) -> None:
    """The driver's ``send_query`` then ``send_external_tables(None)``, flushed once (``can_send`` first)."""
    out = connection.fout
    revision = connection.server_info.used_revision
    write_varint(ClientPacketTypes.QUERY, out)
    write_binary_str(query_id or "", out)
    if revision >= defines.DBMS_MIN_REVISION_WITH_CLIENT_INFO:
        out.write(client_info(connection, revision))
    flags = SettingsFlags.IMPORTANT if connection.settings_is_important else 0
    write_settings(connection.context.settings, out,
                   revision >= defines.DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS, flags)
    if revision >= defines.DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET:
        write_binary_str("", out)
    write_varint(QueryProcessingStage.COMPLETE, out)
    write_varint(connection.compression, out)
    write_binary_str(query, out)
    if revision >= defines.DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS:
        write_settings({}, out, True, SettingsFlags.CUSTOM)
    out.write(empty_data_packet(revision))  # no external tables
    out.flush()


def client_info(connection, revision: int) -> bytes:
    """The driver's per-query ``ClientInfo`` as bytes, built once per connection (the OS user, host name and
    settings do not change); servers that take the query's start time get it fresh each time."""
    info, for_revision, written = getattr(connection, "_tickagg_client_info", (None, None, None))
    if info is None:
        info = ClientInfo(connection.client_name, connection.context, client_revision=connection.client_revision)
        info.query_kind = ClientInfo.QueryKind.INITIAL_QUERY
    if for_revision != revision or revision >= defines.DBMS_MIN_PROTOCOL_VERSION_WITH_INITIAL_QUERY_START_TIME:
        info.initial_query_start_time_microseconds = int(time.time() * 1_000_000)
        out = BytesIO()
        info.write(revision, out)
        written = out.getvalue()
        connection._tickagg_client_info = (info, revision, written)
    return written


@functools.lru_cache(maxsize=16)
def empty_data_packet(revision: int) -> bytes:
    """A Data packet with an empty block (what ends the external tables, and an insert's data)."""
    return data_packet_head(revision) + block_head(revision, 0, 0)


@functools.lru_cache(maxsize=16)
def data_packet_head(revision: int) -> bytes:
    """A Data packet's type and (on servers with temporary tables) its empty table name."""
    with_name = revision >= defines.DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES
    return bytes([ClientPacketTypes.DATA]) + (b"\0" if with_name else b"")


@functools.lru_cache(maxsize=1024)
def block_head(revision: int, columns: int, rows: int) -> bytes:
    """A block's info (where the server has it), column and row counts."""
    out = BytesIO()
    if revision >= defines.DBMS_MIN_REVISION_WITH_BLOCK_INFO:
        BlockInfo().write(out)
    write_varint(columns, out)
    write_varint(rows, out)
    return out.getvalue()


def column_head(revision: int, name: str, ch_type: str) -> bytes:
    """A column's name, type and (on new servers) custom-serialization flag, as a block carries them."""
    out = BytesIO()
    write_binary_str(name, out)
    write_binary_str(ch_type, out)
    if revision >= defines.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION:
        out.write(b"\0")
    return out.getvalue()


class SampleBlocks:
    """The sample blocks of the queries seen on one client, and the exact bytes each one's reply is."""

    def __init__(self):
        self._known: dict[tuple, tuple[bytes, object]] = {}  # (query, revision) -> (reply bytes, parsed block)
        self.skipped = 0  # replies recognised and skipped (tests)

    def receive(self, client, query: str):
        """The sample block of ``query`` (``client.receive_sample_block()``'s answer), from its known bytes when the
        reader's buffer starts with them."""
        connection = client.connection
        revision = connection.server_info.used_revision
        key = (query, revision)
        known = self._known.get(key)
        reader = connection.fin
        if known is not None:
            expected, block = known
            if reader.position >= reader.current_buffer_size:
                reader.read_into_buffer()  # waits for the reply's first bytes, as the driver's first read does
                reader.position = 0  # (its reads set it so after a refill)
            start = reader.position
            end = start + len(expected)
            if reader.current_buffer_size >= end and reader.buffer[start:end] == expected:
                reader.position = end
                self.skipped += 1
                return block
        block = client.receive_sample_block()
        if block is not None and not connection.compression and not block.num_rows:
            types = block.columns_with_types
            heads = b"".join(column_head(revision, name, ch_type) for name, ch_type in types)
            packet = bytes([ServerPacketTypes.DATA]) + data_packet_head(revision)[1:]  # the server's Data packet type
            expected = packet + block_head(revision, len(types), 0) + heads
            self._known[key] = (expected, block)
        return block
