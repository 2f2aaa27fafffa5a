"""`tickagg bench compare`: figures by dotted path, ratio B/A, better/worse by the figure's name; odd input exits 2."""
from __future__ import annotations

import orjson
import pytest

from bench.compare import compare, direction
from tickagg.cli import main

A = {"machine": {"cores": 2}, "git_revision": "aaa", "benches": {
    "ring": {"ring": {"1": 1000.0, "64": 50_000.0}, "latency_ns": {"p50": 1000, "p99": 4000}},
    "writer": {"stores": {"chdb": {"rows_per_s": 100_000, "latency": {"p99_ms": 20.0}}}, "seconds": 1},
    "feed": {"frames_per_s": 10_000, "lost": 0, "only_a": 1},
    "e2e": {"error": "exit status 1: boom", "seconds": 3.0},
}}
B = {"machine": {"cores": 2}, "git_revision": "bbb", "benches": {
    "ring": {"ring": {"1": 2000.0, "64": 50_500.0}, "latency_ns": {"p50": 500, "p99": 8000}},
    "writer": {"stores": {"chdb": {"rows_per_s": 50_000, "latency": {"p99_ms": 10.0}}}, "seconds": 2},
    "feed": {"frames_per_s": 10_000, "lost": 3, "only_b": True, "only_b2": 2},
}}


def test_each_figure_in_both_gets_its_ratio_and_verdict():
    result = compare(A, B, threshold=0.05)
    rows = {row["figure"]: row for row in result["figures"]}
    assert {path: (row["ratio"], row["better"], row["change"]) for path, row in rows.items()} == {
        "ring.ring.1": (2.0, "higher", "better"),
        "ring.ring.64": (1.01, "higher", "same"),
        "ring.latency_ns.p50": (0.5, "lower", "better"),
        "ring.latency_ns.p99": (2.0, "lower", "worse"),
        "writer.stores.chdb.rows_per_s": (0.5, "higher", "worse"),
        "writer.stores.chdb.latency.p99_ms": (0.5, "lower", "better"),
        "writer.seconds": (2.0, None, None),  # a setting: no verdict
        "feed.frames_per_s": (1.0, "higher", "same"),
        "feed.lost": (None, "lower", None),  # 0 -> 3: no ratio
    }
    assert result["only_in_a"] == ["e2e.seconds", "feed.only_a"]
    assert result["only_in_b"] == ["feed.only_b2"]  # a boolean is not a figure
    assert result["differs"] == {"git_revision": ["aaa", "bbb"]}


@pytest.mark.parametrize("path, better", [
    ("features.ns_per_symbol", "lower"), ("fanin.aggregator_cpu_pct", "lower"), ("e2e.pss_mb.writer", "lower"),
    ("ring.ring_vs_mp_queue_batch1", "higher"), ("e2e.stored_per_s", "higher"), ("ring.cpus", None),
    ("feed.reconnect_first_tick_s_median", "lower"), ("outage.duplicated", "lower"), ("features.symbols", None),
])
def test_which_way_is_better_comes_from_the_name(path, better):
    assert direction(path) == better


def test_the_command_prints_a_table_or_json(tmp_path, capsys):
    (tmp_path / "a.json").write_bytes(orjson.dumps(A))
    (tmp_path / "b.json").write_bytes(orjson.dumps(B))
    assert main(["bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    table = capsys.readouterr().out
    assert any(line.split()[:1] == ["ring.latency_ns.p99"] and line.split()[-1] == "worse" for line in table.splitlines())
    assert "only in A: e2e.seconds, feed.only_a" in table
    assert main(["bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json"]) == 0
    assert len(orjson.loads(capsys.readouterr().out)["figures"]) == 9


@pytest.mark.parametrize("content, words", [
    (b"not json", "not JSON"), (b'{"a": NaN}', "not JSON"), (b"[1, 2]", "list"), (b'"text"', "str"),
    (b'{"benches": [1]}', "'benches' is a list"), (b'{"name": "x", "ok": true}', "no numeric figures"),
    (b"[" * 5000 + b"]" * 5000, "not JSON"), (b'{"a":' * 100 + b"1" + b"}" * 100, "nested deeper"),
    (b"\xff\xfe{}", "not JSON"),
])
def test_odd_input_is_refused_in_one_line_with_status_2(tmp_path, capsys, content, words):
    (tmp_path / "good.json").write_bytes(orjson.dumps(A))
    (tmp_path / "odd.json").write_bytes(content)
    assert main(["bench", "compare", str(tmp_path / "good.json"), str(tmp_path / "odd.json")]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_file_is_refused_with_status_2(tmp_path, capsys):
    assert main(["bench", "compare", str(tmp_path / "none.json"), str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_figure_names_reach_the_terminal_without_control_characters(tmp_path, capsys):
    hostile = {"benches": {"x\x1b]0;owned\x07\x1b[2J": {"rows_per_s": 1.0}, "only\x1b[31m": 2}}
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_bytes(orjson.dumps(hostile))
    assert main(["bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "rows_per_s" in out and "\x1b" not in out and "\x07" not in out
