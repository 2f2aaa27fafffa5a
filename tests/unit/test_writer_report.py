"""The writer's status file: published atomically with mode 0600 and never through a link; read as hostile
input (links, FIFOs, huge files, bad JSON, wrong types, escape sequences) without a crash."""
from __future__ import annotations

import os
import stat

import orjson
import pytest

from tickagg.writer_report import MAX_BYTES, read_report, report_path, writer_fields
from writer.status_file import StatusFile


def test_published_file_is_whole_private_and_never_written_through_a_link(tmp_path):
    path = str(tmp_path / "status.json")
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    os.symlink(target, path + ".tmp")  # planted where the temporary file goes
    assert StatusFile(path).publish(orjson.dumps({"rows_stored": {"ticks": 5}}))
    assert target.read_text() == "keep" and not os.path.lexists(path + ".tmp")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    report, problem = read_report(path)
    assert problem is None and writer_fields(report)["rows_stored"] == {"ticks": 5}


def test_a_status_that_cannot_be_published_is_skipped(tmp_path):
    assert not StatusFile(str(tmp_path / "missing-dir" / "status.json")).publish(b"{}")


def test_fields_of_a_good_report(tmp_path):
    path = report_path(str(tmp_path), "g")
    os.makedirs(os.path.dirname(path))
    StatusFile(path).publish(orjson.dumps({
        "rows_stored": {"ticks": 10, "bars_1s": 2}, "spill_rows": 3, "spill_bytes": 400, "dead_letter_rows": 1,
        "store_up": False, "store_error": "store not reachable: refused"}))
    fields = writer_fields(read_report(path)[0])
    assert fields["rows_stored"] == {"ticks": 10, "bars_1s": 2}
    assert (fields["spill_rows"], fields["spill_bytes"], fields["dead_letter_rows"]) == (3, 400, 1)
    assert fields["store_up"] is False and fields["store_error"] == "store not reachable: refused"
    assert 0 <= fields["report_age_s"] < 60


def test_no_file_yet_is_no_problem(tmp_path):
    assert read_report(str(tmp_path / "status.json")) == (None, None)
    assert writer_fields(None)["rows_stored"] == {} and writer_fields(None)["spill_rows"] is None


@pytest.mark.parametrize("kind", ["link", "fifo", "directory", "huge", "not json", "a list", "binary"])
def test_hostile_files_are_a_problem_not_a_crash(tmp_path, kind):
    path = str(tmp_path / "status.json")
    if kind == "link":
        (tmp_path / "real.json").write_text('{"spill_rows": 1}')
        os.symlink(tmp_path / "real.json", path)
    elif kind == "fifo":
        os.mkfifo(path)  # opening it to read must not wait for a writer
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "huge":
        with open(path, "wb") as f:
            f.truncate(MAX_BYTES + 1)
    else:
        data = {"not json": b'{"spill_rows": ', "a list": b"[1, 2]", "binary": b"\xff\xfe\x00{"}[kind]
        with open(path, "wb") as f:
            f.write(data)
    report, problem = read_report(path)
    assert report is None and problem and problem.startswith(path)


def test_wrong_types_and_escape_sequences_become_none_or_harmless(tmp_path):
    path = str(tmp_path / "status.json")
    with open(path, "wb") as f:
        f.write(orjson.dumps({
            "rows_stored": {"ticks": "many", "bars_1s": -1, "bars_1m": True, "regime": 2.5, "\x1b[2J": 5, "events": 7,
                            **{f"t{i}": i for i in range(200)}},
            "spill_rows": "3", "spill_bytes": 1 << 63, "dead_letter_rows": None, "store_up": "yes",
            "store_error": "down\x1b]0;pwned\x07\r\n" + "x" * 1000, "_age_s": "forged"}))
    fields = writer_fields(read_report(path)[0])
    assert fields["rows_stored"]["events"] == 7 and len(fields["rows_stored"]) <= 64
    assert not {"ticks", "bars_1s", "bars_1m", "regime", "\x1b[2J"} & set(fields["rows_stored"])
    assert (fields["spill_rows"], fields["spill_bytes"], fields["dead_letter_rows"], fields["store_up"]) == (None,) * 4
    error = fields["store_error"]
    assert error.startswith("down?]0;pwned?") and len(error) <= 300
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in error)
    assert isinstance(fields["report_age_s"], float)
    for value in ({"rows_stored": []}, {"store_error": 5}, {}):
        with open(path, "wb") as f:
            f.write(orjson.dumps(value))
        assert writer_fields(read_report(path)[0])["store_error"] is None


def test_the_ticks_insert_times_are_kept_only_in_their_form(tmp_path):
    from writer.insert_times import InsertTimes

    times = InsertTimes()
    for ms in (4, 6, 90):
        times.record("ticks", ms * 1_000_000)
    times.record("bars_1s", 7_000_000)
    path = str(tmp_path / "status.json")
    StatusFile(path).publish(orjson.dumps({"inserts": times.status()}))
    kept = writer_fields(read_report(path)[0])["tick_inserts"]  # as the writer publishes them
    assert kept["count"] == 3 and kept["p99_ms"] == pytest.approx(90, rel=1 / 32) and kept["seconds"] == pytest.approx(0.1)
    assert sum(n for _, n in kept["buckets"]) == 3
    good = times.status()["ticks"]
    for bad in ({**good, "count": -1}, {**good, "seconds": "1"}, {**good, "p99_ms": True}, {**good, "buckets": {}},
                {**good, "buckets": [[960, 1]]}, {**good, "buckets": [[-1, 1]]}, {**good, "buckets": [[1.5, 1]]},
                {**good, "buckets": [[1, 1, 1]]}, {**good, "buckets": [[1, -2]]}, {**good, "buckets": [[1, 1]] * 961},
                "ticks", None):
        with open(path, "wb") as f:
            f.write(orjson.dumps({"inserts": {"ticks": bad}}))
        assert writer_fields(read_report(path)[0])["tick_inserts"] is None, bad
    for bad in ([1, 2], "x", {}):
        with open(path, "wb") as f:
            f.write(orjson.dumps({"inserts": bad}))
        assert writer_fields(read_report(path)[0])["tick_inserts"] is None, bad
    with open(path, "wb") as f:
        f.write(b'{"inserts": {"ticks": {"count": 1, "seconds": NaN, "p99_ms": 1.0, "buckets": []}}}')
    assert read_report(path)[0] is None  # not JSON: orjson refuses NaN
