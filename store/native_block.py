"""Inserts through clickhouse-driver that write numpy columns straight into Native blocks.

clickhouse-driver's own numpy path (``use_numpy``) imports pandas and
pyarrow, about 75 MB of the writer's memory, for nothing an insert of plain
numbers needs. In ClickHouse's Native format a column of fixed-size numbers is
just its little-endian values, a ``UUID`` two UInt64 (first half, then last),
and ``Array(T)`` is the rows' cumulative end
offsets (UInt64) followed by all the values, so a numpy column is sent as its
bytes. ``NativeClient`` is the driver's ``Client`` with one change: an insert
whose data is a ``NumpyColumns`` is written that way; anything else, or a
column type this module does not encode (String, LowCardinality), goes the
driver's usual way.

It also skips the driver's ping before each query (``Connection.force_connect``
pings a connected server first: a round trip per insert, ~50 µs of CPU here
and a wakeup of the server) while the connection was used within
``PING_AFTER_S`` and its socket has nothing to read (a server that closed the
connection makes it readable: then the driver pings and reconnects as
before). A connection that dies unseen makes the query itself fail, which the
writer already treats as an outage (the batch in doubt, spilled, retried).

An insert of fewer than ``SMALL_INSERT_ROWS`` rows is sent uncompressed on a
compressed connection (the query packet carries the compression flag, so the
server answers that query uncompressed too): an idle group's inserts are a few
rows each, and the driver's LZ4 framing (checksums, buffers, in Python) was a
third of the CPU of such an insert (store/small_insert.py cuts more of the
driver's per-query Python for them). A large insert goes uncompressed too
when LZ4 keeps more than ``WORTH_RATIO`` of a ~64 KB sample of its first rows
(the minute's 2,378 feature rows of random-looking doubles: LZ4 was ~5x the
CPU of the whole uncompressed insert, for ~nothing), asked once per
``LOOK_EVERY`` inserts of a query; other large batches stay compressed, framed here:
the block's bytes joined once, compressed in one call and sent as one
compressed frame (what the driver sends, without its buffered compressor's
copies: a minute close's 26 MB feature insert took ~1.4x the CPU through them).
A column is turned into bytes in one copy, strided record fields included
(store/tables.py hands them over as views of the ring records).

The framing follows the driver's ``Connection.send_data``,
``BlockOutputStream.write`` and ``CompressedBlockOutputStream.finalize`` (clickhouse-driver 0.2.x): packet type and table
name, block info, column and row counts, then per column its name, type, (on
new servers) a custom-serialization flag, and its data; setup.cfg pins the
driver below 0.3 for that reason (tests/test_store_native_block.py checks it
against the real server).
"""
from __future__ import annotations

import re
import select
import struct
import time

import numpy as np
from clickhouse_driver import Client
from clickhouse_driver.protocol import Compression
from clickhouse_driver.result import QueryInfo
from clickhouse_driver.streams.native import BlockOutputStream
from clickhouse_driver.block import ColumnOrientedBlock
from clickhouse_driver.writer import write_binary_uint128

from store import small_insert

SCALARS = {
    "Int8": "i1", "Int16": "<i2", "Int32": "<i4", "Int64": "<i8",
    "UInt8": "u1", "UInt16": "<u2", "UInt32": "<u4", "UInt64": "<u8",
    "Float32": "<f4", "Float64": "<f8", "Date": "<u2", "DateTime": "<u4",
}
_DATETIME = re.compile(r"^DateTime\('[^']*'\)$")
_DATETIME64 = re.compile(r"^DateTime64\(\d+(, '[^']*')?\)$")
SMALL_INSERT_ROWS = 1000  # inserts of fewer rows go uncompressed (LZ4 framing in Python costs more than it saves)
WORTH_RATIO = 0.8  # a big insert whose sample LZ4 keeps more than this of goes uncompressed
SAMPLE_BYTES = 65536  # about this much of its first rows is the sample
LOOK_EVERY = 16  # a query's answer holds for this many inserts
PING_AFTER_S = 5.0  # ping the server before a query when the connection sat unused this long (the driver: always)


class NumpyColumns(list):
    """The columns of one insert, numpy arrays in the INSERT's column order (2-D for ``Array`` columns)."""

    @property
    def rows(self) -> int:
        return len(self[0]) if self else 0

    def as_lists(self) -> list:
        return [c.tolist() if isinstance(c, np.ndarray) else c for c in self]


def scalar_dtype(ch_type: str) -> np.dtype | None:
    """The numpy dtype of a fixed-size ClickHouse type, or None."""
    if ch_type in SCALARS:
        return np.dtype(SCALARS[ch_type])
    if _DATETIME.match(ch_type):
        return np.dtype("<u4")
    if _DATETIME64.match(ch_type):
        return np.dtype("<i8")
    return None


def encode(ch_type: str, column: np.ndarray) -> list[bytes] | None:
    """The Native-format bytes of one column, or None when this module does not encode ``ch_type``."""
    if not isinstance(column, np.ndarray):
        return None
    dtype = scalar_dtype(ch_type)
    if dtype is not None and column.ndim == 1:
        return [_bytes(column, dtype)]
    if ch_type == "UUID" and column.ndim == 2 and column.shape[1] == 2:  # (first, last) 64 bits per row
        return [_bytes(column, np.dtype("<u8"))]
    if ch_type.startswith("Array(") and column.ndim == 2:
        inner = scalar_dtype(ch_type[6:-1])
        if inner is None:
            return None
        rows, width = column.shape
        offsets = np.arange(1, rows + 1, dtype="<u8") * width
        return [offsets.tobytes(), _bytes(column, inner)]
    return None


def _bytes(column: np.ndarray, dtype: np.dtype) -> bytes:
    """The values as ``dtype`` in row order: one copy (``tobytes`` gathers a strided view itself)."""
    return (column if column.dtype == dtype else column.astype(dtype)).tobytes()


class NativeClient(Client):
    """clickhouse-driver's Client; inserts of ``NumpyColumns`` send numpy bytes as Native blocks; no ping before a
    query on a connection in use (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._used_s = float("-inf")  # when the last query started
        self._encodable: dict[tuple, bool] = {}  # (column types, numpy column kinds) -> every column ours to encode
        self._column_heads: dict[tuple, list[bytes]] = {}  # (column types, revision) -> each column's header bytes
        self._worth: dict[str, tuple[bool, int]] = {}  # insert query -> (worth compressing, inserts since the look)
        self._samples = small_insert.SampleBlocks()  # the sample blocks of small inserts (store/small_insert.py)

    def establish_connection(self, settings):
        connection = getattr(self, "connection", None)
        now = time.monotonic()
        used, self._used_s = self._used_s, now
        if connection is None or self.connections or not connection.connected or now - used > PING_AFTER_S \
                or not _nothing_to_read(connection):
            return super().establish_connection(settings)  # rotate, connect, or ping (and reconnect) as the driver does
        connection.context.settings = self.settings  # what get_connection and force_connect do, without the ping
        connection.context.client_settings = self.client_settings
        self.make_query_settings(settings)
        connection.check_query_execution()
        self.last_query = QueryInfo()

    def process_insert_query(self, query_without_data, data, external_tables=None, query_id=None, types_check=False,
                             columnar=False):
        connection = self.connection
        if not (isinstance(data, NumpyColumns) and connection.compression and not self._worth_compressing(query_without_data, data)):
            return super().process_insert_query(query_without_data, data, external_tables, query_id, types_check, columnar)
        compression, streams = connection.compression, (connection.block_in, connection.block_out)
        connection.compression = Compression.DISABLED  # this query only: the flag goes in its query packet
        connection.block_in, connection.block_out = connection.block_in_raw, BlockOutputStream(connection.fout, connection.context)
        try:
            if external_tables or not small_insert.can_send(connection):
                return super().process_insert_query(query_without_data, data, external_tables, query_id, types_check, columnar)
            small_insert.send_query(connection, query_without_data, query_id)  # the driver's packets, less of its Python
            sample_block = self._samples.receive(self, query_without_data)
            if not sample_block:
                return None
            inserted = self.send_data(sample_block, data, types_check=types_check, columnar=columnar)
            self.receive_end_of_insert_query()
            return inserted
        finally:
            connection.compression = compression
            connection.block_in, connection.block_out = streams

    def _worth_compressing(self, query: str, data: NumpyColumns) -> bool:
        """Whether this insert goes LZ4-compressed: not a small one, nor one whose sample (``shrinks``) LZ4 does not
        shrink below ``WORTH_RATIO`` of its size (random-looking doubles: the minute's feature rows); a query's
        answer is kept for ``LOOK_EVERY`` inserts, then looked at again."""
        if data.rows < SMALL_INSERT_ROWS:
            return False
        worth, since = self._worth.get(query, (True, LOOK_EVERY))
        if since >= LOOK_EVERY:
            worth, since = shrinks(data), 0
        self._worth[query] = (worth, since + 1)
        return worth

    def send_data(self, sample_block, data, types_check=False, columnar=False):
        if not isinstance(data, NumpyColumns):
            return super().send_data(sample_block, data, types_check=types_check, columnar=columnar)
        types = sample_block.columns_with_types
        if len(types) != len(data):
            raise ValueError(f"insert has {len(data)} columns, the table expects {len(types)}")
        kinds = (tuple(t for _, t in types), tuple((c.dtype.str, c.shape[1:]) if isinstance(c, np.ndarray) else None for c in data))
        encodable = self._encodable.get(kinds)
        if encodable is None:
            encodable = self._encodable[kinds] = all(encode(t, c[:0]) is not None for (_, t), c in zip(types, data))
        if not encodable:  # not ours to encode: the driver's columns
            return super().send_data(sample_block, data.as_lists(), types_check=types_check, columnar=True)
        step = self.connection.context.client_settings["insert_block_size"]
        rows = data.rows
        ended = False
        for start in range(0, rows, step):
            encoded = [encode(t, c[start : start + step]) for (_, t), c in zip(types, data)]
            ended = self._send_block(types, encoded, min(step, rows - start), last=start + step >= rows)
            self.receive_profile_events()
        if not ended:
            self.connection.send_data(ColumnOrientedBlock())  # an empty block ends the data
        self.receive_profile_events()
        return rows

    def _send_block(self, types: list[tuple[str, str]], encoded: list[list[bytes]], rows: int, last: bool = False) -> bool:
        """Send one block; on an uncompressed connection the last one goes with the empty block that ends the data,
        in one send (True: the data is ended)."""
        connection = self.connection
        revision = connection.server_info.used_revision
        connection.fout.write(small_insert.data_packet_head(revision))
        stream = connection.block_out
        heads = self._column_heads.get((tuple(types), revision))
        if heads is None:  # each column's name, type and (on new servers) custom-serialization flag, once per table
            heads = self._column_heads[(tuple(types), revision)] = [
                small_insert.column_head(revision, name, ch_type) for name, ch_type in types]
        parts = [small_insert.block_head(revision, len(types), rows)]
        for head, column in zip(heads, encoded):
            parts.append(head)
            parts.extend(column)
        compressor = getattr(stream, "compressor", None)  # a compressed stream (the driver's CompressedBlockOutputStream)
        if compressor is None:
            for part in parts:
                stream.fout.write(part)
            if last:
                stream.fout.write(small_insert.empty_data_packet(revision))
            stream.finalize()
            return last
        data = b"".join(parts)
        _send_compressed(compressor, data, stream.raw_fout)
        return False


def shrinks(data: NumpyColumns) -> bool:
    """Whether LZ4 shrinks the first ~``SAMPLE_BYTES`` of the columns' rows below ``WORTH_RATIO`` of their size."""
    import lz4.block  # the driver's LZ4 (clickhouse-driver[lz4])

    arrays = [c for c in data if isinstance(c, np.ndarray)]
    row_bytes = sum(c.itemsize * int(np.prod(c.shape[1:])) for c in arrays)
    sample = b"".join(c[: max(1, SAMPLE_BYTES // max(row_bytes, 1))].tobytes() for c in arrays)
    return not sample or len(lz4.block.compress(sample, store_size=False)) < WORTH_RATIO * len(sample)


def _send_compressed(compressor, data: bytes, out) -> None:
    """``data`` as one compressed frame, as the driver's ``CompressedBlockOutputStream.finalize`` sends it: the
    CityHash128 of what follows, then the method byte, the frame's size with its 9-byte header and the size
    uncompressed (UInt32 each), then the compressed bytes."""
    from clickhouse_cityhash.cityhash import CityHash128  # as the driver's compressed stream: there with compression

    compressed = compressor.compress_data(data)
    method = b"" if compressor.method_byte is None else bytes([compressor.method_byte])
    header = method + struct.pack("<II", len(method) + 8 + len(compressed), len(data))
    frame = header + compressed
    write_binary_uint128(CityHash128(frame), out)
    out.write(frame)
    out.flush()


def _nothing_to_read(connection) -> bool:
    """Neither the driver's buffer, TLS nor the socket holds anything (a closed connection reads as readable)."""
    reader, sock = connection.fin, connection.socket
    if reader is None or sock is None or reader.position < reader.current_buffer_size:
        return False
    pending = getattr(sock, "pending", None)  # an ssl.SSLSocket's decrypted bytes not yet read
    if pending is not None and pending():
        return False
    try:
        return not select.select([sock], [], [], 0)[0]
    except (OSError, ValueError):
        return False
