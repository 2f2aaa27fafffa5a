"""The feature catalogue: exactly FEATURE_COUNT unique names, the required ones, versioned."""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from tickagg.cli import main
from aggregator.features import CATALOGUE_VERSION, FEATURE_COUNT, batch, index_of, names, new_state, synthetic

REQUIRED = ("sma_20", "ema_20", "rsi_14", "atr_14", "macd_12_26_9", "macdsig_12_26_9", "macdhist_12_26_9",
            "stoch_k_14", "willr_14", "cci_20", "roc_10", "obv", "bb_pctb_20")

# sha256 of the names joined by newlines, per catalogue version: a change to the
# names or their order must come with a new CATALOGUE_VERSION (and a new line here).
FINGERPRINTS = {1: "87b9933c3d3d82ed561c7f92b2f202bc00daf37be4766ef1d40919b6173b0ade"}


def test_exactly_feature_count_unique_names():
    catalogue = names()
    assert FEATURE_COUNT == 1400
    assert len(catalogue) == FEATURE_COUNT
    assert len(set(catalogue)) == FEATURE_COUNT
    for name in catalogue:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*(_\d+)*", name), name


def test_required_names_present():
    for name in REQUIRED:
        assert names()[index_of(name)] == name


def test_unknown_name_is_a_clear_error():
    with pytest.raises(KeyError, match="no feature named 'rsi_13'"):
        index_of("rsi_13")


def test_names_change_only_with_a_new_version():
    assert isinstance(CATALOGUE_VERSION, int) and CATALOGUE_VERSION >= 1
    digest = hashlib.sha256("\n".join(names()).encode()).hexdigest()
    assert FINGERPRINTS.get(CATALOGUE_VERSION) == digest, "catalogue changed: bump CATALOGUE_VERSION"


def test_every_column_is_written_at_every_bar():
    """No column keeps what was in out_values before the call (each family writes all of its columns)."""
    bars = synthetic.bars("normal", 800, seed=2)
    state = new_state(1)
    slot = np.zeros(1, np.int64)
    row = np.empty((1, FEATURE_COUNT))
    for j in range(len(bars)):
        row[:] = 1234.5
        batch.update_records(state, bars[j:j + 1], slot, row)
        assert not np.any(row == 1234.5), [names()[i] for i in np.flatnonzero(row == 1234.5)]
    out = row[0]
    # after the longest warm-up (tema_240: 718 bars) every feature of a moving market is defined
    assert not np.any(np.isnan(out)), [names()[i] for i in np.flatnonzero(np.isnan(out))]
    assert np.array_equal(batch.compute_records(bars)[-1], out)


def test_cli_list_prints_index_name_and_version(capsys):
    assert main(["features", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"# tickagg feature catalogue version {CATALOGUE_VERSION}, {FEATURE_COUNT} features"
    assert lines[1] == "index\tname"
    assert lines[2:] == [f"{i}\t{name}" for i, name in enumerate(names())]
