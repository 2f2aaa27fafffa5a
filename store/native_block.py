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

The framing follows the driver's ``Connection.send_data`` and
``BlockOutputStream.write`` (clickhouse-driver 0.2.x): packet type and table
name, block info, column and row counts, then per column its name, type, (on
new servers) a custom-serialization flag, and its data; setup.cfg pins the
driver below 0.3 for that reason (tests/test_store_native_block.py checks it
against the real server).
"""
from __future__ import annotations

import re

import numpy as np
from clickhouse_driver import Client, defines
from clickhouse_driver.block import BlockInfo, ColumnOrientedBlock
from clickhouse_driver.protocol import ClientPacketTypes
from clickhouse_driver.varint import write_varint
from clickhouse_driver.writer import write_binary_str, write_binary_uint8

SCALARS = {
    "Int8": "i1", "Int16": "<i2", "Int32": "<i4", "Int64": "<i8",
    "UInt8": "u1", "UInt16": "<u2", "UInt32": "<u4", "UInt64": "<u8",
    "Float32": "<f4", "Float64": "<f8", "Date": "<u2", "DateTime": "<u4",
}
_DATETIME = re.compile(r"^DateTime\('[^']*'\)$")
_DATETIME64 = re.compile(r"^DateTime64\(\d+(, '[^']*')?\)$")


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
        return [np.ascontiguousarray(column, dtype=dtype).tobytes()]
    if ch_type == "UUID" and column.ndim == 2 and column.shape[1] == 2:  # (first, last) 64 bits per row
        return [np.ascontiguousarray(column, dtype="<u8").tobytes()]
    if ch_type.startswith("Array(") and column.ndim == 2:
        inner = scalar_dtype(ch_type[6:-1])
        if inner is None:
            return None
        rows, width = column.shape
        offsets = np.arange(1, rows + 1, dtype="<u8") * width
        return [offsets.tobytes(), np.ascontiguousarray(column, dtype=inner).tobytes()]
    return None


class NativeClient(Client):
    """clickhouse-driver's Client; inserts of ``NumpyColumns`` send numpy bytes as Native blocks."""

    def send_data(self, sample_block, data, types_check=False, columnar=False):
        if not isinstance(data, NumpyColumns):
            return super().send_data(sample_block, data, types_check=types_check, columnar=columnar)
        types = sample_block.columns_with_types
        if len(types) != len(data):
            raise ValueError(f"insert has {len(data)} columns, the table expects {len(types)}")
        if any(encode(t, c[:0]) is None for (_, t), c in zip(types, data)):  # not ours to encode: the driver's columns
            return super().send_data(sample_block, data.as_lists(), types_check=types_check, columnar=True)
        step = self.connection.context.client_settings["insert_block_size"]
        rows = data.rows
        for start in range(0, rows, step):
            encoded = [encode(t, c[start : start + step]) for (_, t), c in zip(types, data)]
            self._send_block(types, encoded, min(step, rows - start))
            self.receive_profile_events()
        self.connection.send_data(ColumnOrientedBlock())  # an empty block ends the data
        self.receive_profile_events()
        return rows

    def _send_block(self, types: list[tuple[str, str]], encoded: list[list[bytes]], rows: int) -> None:
        connection = self.connection
        revision = connection.server_info.used_revision
        write_varint(ClientPacketTypes.DATA, connection.fout)
        if revision >= defines.DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES:
            write_binary_str("", connection.fout)  # table name: none
        stream = connection.block_out
        out = stream.fout  # compressed on finalize() when compression is on
        if revision >= defines.DBMS_MIN_REVISION_WITH_BLOCK_INFO:
            BlockInfo().write(out)
        write_varint(len(types), out)
        write_varint(rows, out)
        for (name, ch_type), parts in zip(types, encoded):
            write_binary_str(name, out)
            write_binary_str(ch_type, out)
            if revision >= defines.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION:
                write_binary_uint8(0, out)
            for part in parts:
                out.write(part)
        stream.finalize()
