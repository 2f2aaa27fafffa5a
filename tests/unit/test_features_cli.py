"""`tickagg features` over a CSV gives exactly what the live kernel gives for the same bars."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from tickagg.cli import main
from aggregator.features import FEATURE_COUNT, batch, index_of, names, new_state, synthetic


def write_bars(path, rows, columns):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        writer.writerows(rows)


def bar_fields(bar, columns, symbol=""):
    values = {"ts": str(bar["start_ns"]), "symbol": symbol}
    for name in ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "vwap"):
        values[name] = repr(float(bar[name]))
    values["count"] = str(int(bar["count"]))
    return [values[c] for c in columns]


def read_features(path):
    with open(path, newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        rows = list(reader)
    lead = 2 if header[1] == "symbol" else 1
    assert header[lead:] == list(names())
    values = np.array([[float(x) if x else math.nan for x in row[lead:]] for row in rows])
    return header[:lead], [row[:lead] for row in rows], values


def test_offline_csv_equals_live_kernel(tmp_path):
    a = synthetic.bars("normal", 300, seed=11)
    b = synthetic.bars("violent", 300, seed=12)
    columns = ["ts", "symbol", "open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "vwap", "count"]
    rows = []
    for j in range(300):
        rows.append(bar_fields(a[j], columns, "BTC-USD"))
        rows.append(bar_fields(b[j], columns, "ETH,USD"))  # a comma: quoted on the way out
    write_bars(tmp_path / "bars.csv", rows, columns)
    assert main(["features", "--input", str(tmp_path / "bars.csv"), "--output", str(tmp_path / "out.csv")]) == 0
    lead_names, lead, values = read_features(tmp_path / "out.csv")
    assert lead_names == ["ts", "symbol"]
    assert lead[0] == [str(a[0]["start_ns"]), "BTC-USD"] and lead[3] == [str(b[1]["start_ns"]), "ETH,USD"]
    # the live path: BAR records straight into the kernel, one slot per symbol
    state = new_state(2)
    live = np.empty((600, FEATURE_COUNT))
    both = np.empty(600, a.dtype)
    both[0::2], both[1::2] = a, b
    batch.update_records(state, both, np.tile([0, 1], 300).astype(np.int64), live)
    assert np.array_equal(values, live, equal_nan=True)


def test_missing_optional_columns_take_documented_defaults(tmp_path):
    bars = synthetic.bars("normal", 120, seed=13)
    columns = ["ts", "open", "high", "low", "close", "volume"]
    write_bars(tmp_path / "bars.csv", [bar_fields(bar, columns) for bar in bars], columns)
    assert main(["features", "--input", str(tmp_path / "bars.csv"), "--output", str(tmp_path / "out.csv")]) == 0
    _, _, values = read_features(tmp_path / "out.csv")
    defaults = bars.copy()
    defaults["buy_volume"] = 0.0
    defaults["sell_volume"] = 0.0
    defaults["vwap"] = bars["close"]
    defaults["count"] = 1
    assert np.array_equal(values, batch.compute_records(defaults), equal_nan=True)
    assert np.isnan(values[:, index_of("imbalance_20")]).all()
    assert (values[20:, index_of("countratio_20")] == 1.0).all()


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        ("ts,open,high,low,volume", "1,1,1,1,1", "missing column(s) close"),
        ("ts,open,high,low,close,volume,vwpa", "1,1,1,1,1,1,1", "unknown column 'vwpa'"),
        ("ts,open,high,low,close,volume", "1,1,1,1,x,1", "line 3, column 'close': not a number: 'x'"),
        ("ts,open,high,low,close,volume", "1,1,1,2,1,1", "line 3, column 'high': high is below"),
        ("ts,open,high,low,close,volume", "1,1,1,1,1,-1", "line 3, column 'volume': must be >= 0"),
        ("ts,open,high,low,close,volume", "1,1,1,1,1", "line 3: 5 fields, the header has 6"),
        ("ts,open,high,low,close,volume,count", "1,1,1,1,1,1,2.5", "column 'count': must be a whole number"),
    ],
)
def test_bad_input_names_line_and_column(tmp_path, capsys, header, row, message):
    path = tmp_path / "bars.csv"
    good = ",".join(["0"] + ["1"] * (len(header.split(",")) - 1))
    path.write_text(f"{header}\n{good}\n{row}\n")
    assert main(["features", "--input", str(path), "--output", str(tmp_path / "out.csv")]) == 1
    assert message in capsys.readouterr().err


def test_missing_file_is_reported(tmp_path, capsys):
    assert main(["features", "--input", str(tmp_path / "nope.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err
