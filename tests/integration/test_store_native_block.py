"""numpy columns sent as Native blocks (store/native_block.py) against the private clickhouse-server:
every type round-trips, several blocks per insert, types it does not encode go the driver's way, small inserts
uncompressed, no ping before a query on a connection in use unless the server closed it (the writer process's
imports: test_writer_imports.py)."""
from __future__ import annotations

import datetime
import select
import socket
import threading
import time
import uuid

import numpy as np
import pytest

from bench.clickhouse_server import PASSWORD
from store import native_block
from store import small_insert
from store.native_block import SMALL_INSERT_ROWS, NativeClient, NumpyColumns, encode

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
    records = np.zeros(rows, [("pad", "<u4"), ("arr", "<f8", (5,))])  # a record field: a strided view, as the writer
    records["arr"] = rng.standard_normal((rows, 5))                    # hands over a ring's records
    columns.append(records["arr"])  # Array(Float64)
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


class CuttableProxy:
    """A loopback TCP proxy to the server whose connections can be cut (as a server restart would)."""

    def __init__(self, port: int):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port, self.target, self.sockets = self.listener.getsockname()[1], port, []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        for end in self.sockets:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_small_inserts_go_uncompressed_and_a_connection_in_use_is_not_pinged_unless_the_server_closed_it(
        client, clickhouse_server, monkeypatch):
    client, database = client
    monkeypatch.setattr(native_block, "PING_AFTER_S", 3600.0)  # a stalled test machine must not make it ping
    client.execute(f"CREATE TABLE {database}.small (a UInt32, b Float64) ENGINE = MergeTree ORDER BY a")
    proxy = CuttableProxy(clickhouse_server.tcp_port)
    via = NativeClient(host="127.0.0.1", port=proxy.port, user="writer", password=PASSWORD, compression="lz4")
    pings = []
    try:
        def insert(first: int, rows: int) -> int:
            columns = NumpyColumns([np.arange(first, first + rows, dtype=np.uint32), np.full(rows, 0.5)])
            return via.execute(f"INSERT INTO {database}.small (a, b) VALUES", columns)

        assert insert(0, 3) == 3  # connects
        connection = via.connection
        ping = connection.ping
        connection.ping = lambda: pings.append(1) or ping()
        assert insert(3, 2) == 2 and insert(5, SMALL_INSERT_ROWS) == SMALL_INSERT_ROWS  # small (uncompressed), then large
        assert not pings  # used a moment ago, nothing to read: no round trip before the query
        assert connection.compression  # the connection is compressed as before for the next query
        proxy.cut()  # the server side goes away between two inserts
        deadline = time.monotonic() + 30
        while not select.select([connection.socket], [], [], 0.1)[0]:  # the close reaches this end (at once, on loopback)
            assert time.monotonic() < deadline
        assert insert(5 + SMALL_INSERT_ROWS, 1) == 1  # noticed before the query: pinged, reconnected, inserted
        assert pings
    finally:
        via.disconnect()
        proxy.close()
    rows = client.execute(f"SELECT count(), uniqExact(a), min(a), max(a) FROM {database}.small")[0]
    assert rows == (SMALL_INSERT_ROWS + 6, SMALL_INSERT_ROWS + 6, 0, SMALL_INSERT_ROWS + 5)


class Capture:
    """A connection's output stream that keeps what is written (nothing reaches the server)."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data) -> None:
        self.data += data

    def flush(self) -> None:
        pass


def test_a_small_insert_sends_the_drivers_query_bytes_and_skips_a_sample_block_it_knows(client, clickhouse_server):
    client, database = client
    client.execute(f"CREATE TABLE {database}.known (a UInt32, b Float64) ENGINE = MergeTree ORDER BY a")
    plain = NativeClient(host="127.0.0.1", port=clickhouse_server.tcp_port, user="writer", password=PASSWORD)
    try:
        plain.execute("SELECT 1")
        connection, sent = plain.connection, []
        real, stream = connection.fout, connection.block_out
        for send in (lambda: (connection.send_query("INSERT INTO t VALUES", "q1"), connection.send_external_tables(None)),
                     lambda: small_insert.send_query(connection, "INSERT INTO t VALUES", "q1")):
            connection.fout = stream.fout = Capture()
            try:
                send()
            finally:
                sent.append(bytes(connection.fout.data))
                connection.fout = stream.fout = real
        assert sent[0] == sent[1] and len(sent[0]) > 50  # the driver's query and empty external-tables block
    finally:
        plain.disconnect()

    def insert(first: int) -> int:
        columns = NumpyColumns([np.arange(first, first + 3, dtype=np.uint32), np.full(3, 0.25)])
        return client.execute(f"INSERT INTO {database}.known (a, b) VALUES", columns)

    samples = client._samples
    assert insert(0) == 3 and samples.skipped == 0  # first seen: parsed by the driver
    assert insert(3) == 3 and samples.skipped == 1  # known: skipped
    client.execute(f"ALTER TABLE {database}.known MODIFY COLUMN b Float32")
    assert insert(6) == 3 and samples.skipped == 1  # another type now: not the bytes it knows, parsed again
    assert insert(9) == 3 and samples.skipped == 2
    client.execute(f"DROP TABLE {database}.known")
    with pytest.raises(Exception, match="doesn't exist"):  # the server's exception instead of a sample block
        insert(12)
    client.execute(f"CREATE TABLE {database}.known (a UInt32, b Float64) ENGINE = MergeTree ORDER BY a")
    assert insert(12) == 3
    assert client.execute(f"SELECT any(toTypeName(b)), count(), sum(a), sum(b) FROM {database}.known") == [("Float64", 3, 39, 0.75)]


def test_a_big_insert_that_lz4_does_not_shrink_goes_uncompressed(client, monkeypatch):
    client, database = client
    frames = []
    send = native_block._send_compressed
    monkeypatch.setattr(native_block, "_send_compressed", lambda *args: frames.append(1) or send(*args))
    rows = SMALL_INSERT_ROWS
    client.execute(f"CREATE TABLE {database}.doubles (n UInt32, x Array(Float64)) ENGINE = MergeTree ORDER BY n")
    noise = np.random.default_rng(3).standard_normal((rows, 8))
    for k in range(native_block.LOOK_EVERY + 1):
        assert client.execute(f"INSERT INTO {database}.doubles (n, x) VALUES",
                              NumpyColumns([np.arange(rows, dtype=np.uint32) + k * rows, noise])) == rows
    assert not frames  # random doubles do not shrink (asked twice)
    for k in range(2):
        client.execute(f"INSERT INTO {database}.doubles (x, n) VALUES",  # zeros shrink: every one compressed
                       NumpyColumns([np.zeros((rows, 8)), np.arange(rows, dtype=np.uint32) + (20 + k) * rows]))
    assert len(frames) == 2
    got = client.execute(f"SELECT n, x FROM {database}.doubles WHERE n < {(native_block.LOOK_EVERY + 1) * rows} ORDER BY n",
                         columnar=True)
    assert len(got[0]) == (native_block.LOOK_EVERY + 1) * rows
    np.testing.assert_array_equal(np.array(got[1][-rows:]), noise)
