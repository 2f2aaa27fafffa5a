"""numpy columns sent as Native blocks (store/native_block.py) against the private clickhouse-server:
every type round-trips, several blocks per insert, types it does not encode go the driver's way (the writer
process's imports: test_writer_imports.py)."""
from __future__ import annotations

import datetime
import uuid

import numpy as np
import pytest

from bench.clickhouse_server import PASSWORD
from store.native_block import NativeClient, NumpyColumns, encode

COLUMNS = [
    ("i8", "Int8", np.int8), ("i16", "Int16", np.int16), ("i32", "Int32", np.int32), ("i64", "Int64", np.int64),
    ("u8", "UInt8", np.uint8), ("u16", "UInt16", np.uint16), ("u32", "UInt32", np.uint32), ("u64", "UInt64", np.uint64),
    ("f32", "Float32", np.float32), ("f64", "Float64", np.float64), ("d", "Date", np.uint16), ("t", "DateTime", np.uint32),
]


@pytest.fixture
def client(clickhouse_server):
    client = NativeClient(host="127.0.0.1", port=clickhouse_server.tcp_port, user="writer", password=PASSWORD, compression="lz4")
    database = f"nb{uuid.uuid4().hex[:8]}"
    client.execute(f"CREATE DATABASE {database}")
    yield client, database
    client.execute(f"DROP DATABASE {database}")
    client.disconnect()


def _values(rows: int) -> NumpyColumns:
    rng = np.random.default_rng(7)
    columns = []
    for _, _, dtype in COLUMNS:
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            values = rng.integers(info.min, info.max, rows, dtype=dtype, endpoint=True)
            values[:2] = info.min, info.max
        else:
            values = rng.standard_normal(rows).astype(dtype)
        columns.append(values)
    columns[-2] = np.arange(rows, dtype=np.uint16) + 17000  # Date: days since 1970
    columns[-1] = np.arange(rows, dtype=np.uint32) + 1_700_000_000
    columns.append(rng.standard_normal((rows, 5)))  # Array(Float64)
    return NumpyColumns(columns)


def test_every_type_round_trips_across_several_blocks(client):
    client, database = client
    names = [n for n, _, _ in COLUMNS] + ["arr"]
    types = [t for _, t, _ in COLUMNS] + ["Array(Float64)"]
    client.execute(f"CREATE TABLE {database}.all_types ({', '.join(f'{n} {t}' for n, t in zip(names, types))}, n UInt32) "
                   f"ENGINE = MergeTree ORDER BY n")
    rows = 1000
    data = _values(rows)
    data.append(np.arange(rows, dtype=np.uint32))
    inserted = client.execute(f"INSERT INTO {database}.all_types ({', '.join(names)}, n) VALUES", data,
                              settings={"insert_block_size": 300})  # 4 blocks
    assert inserted == rows
    back = client.execute(f"SELECT {', '.join(names)} FROM {database}.all_types ORDER BY n", columnar=True)
    for (name, ch_type, dtype), sent, got in zip(COLUMNS, data, back):
        if ch_type == "Date":
            got = [(d - datetime.date(1970, 1, 1)).days for d in got]
        elif ch_type == "DateTime":
            got = [int(t.timestamp()) for t in got]
        np.testing.assert_array_equal(np.asarray(got, dtype=dtype), sent, err_msg=name)
    np.testing.assert_array_equal(np.array(back[-1]), data[len(COLUMNS)])


def test_types_it_does_not_encode_go_through_the_driver(client):
    client, database = client
    client.execute(f"CREATE TABLE {database}.mixed (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
    assert encode("String", np.array(["a"])) is None
    client.execute(f"INSERT INTO {database}.mixed (n, s) VALUES", NumpyColumns([np.arange(3, dtype=np.uint32), ["a", "b", "c"]]))
    assert client.execute(f"SELECT n, s FROM {database}.mixed ORDER BY n") == [(0, "a"), (1, "b"), (2, "c")]


def test_a_column_count_mismatch_is_refused(client):
    client, database = client
    client.execute(f"CREATE TABLE {database}.two (a UInt32, b UInt32) ENGINE = MergeTree ORDER BY a")
    with pytest.raises(ValueError, match="2 columns"):
        client.execute(f"INSERT INTO {database}.two (a, b, a) VALUES",
                       NumpyColumns([np.zeros(1, np.uint32)] * 2))
