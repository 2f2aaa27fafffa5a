"""Group and ring names (shm/names.py): the rule, exact matching, and the command line's answer to a bad name."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from shm import names, segment
from shm.names import GroupNameError, check_group, group_segments, split
from shm.records import TICK
from shm.ring import PRODUCER, Ring, group_rings, ring_name
from shm.symbols import SymbolDirectory, directory_name
from tickagg import cli

GOOD = ["default", "G", "prod-eu_2", "t123x9f", "a" * 64, "-x", "_"]
BAD = ["", "G.x", "x y", "a/b", "../etc", ".", "a" * 65, "tab\there", "é", "G\n", "x;rm"]


@pytest.mark.parametrize("group", GOOD)
def test_valid_group_names_are_kept(group):
    assert check_group(group) == group
    assert split(ring_name(group, "binance.events")) == (group, "binance.events")
    assert directory_name(group) == f"tickagg.{group}.symbols"


@pytest.mark.parametrize("group", BAD)
def test_bad_group_names_are_refused_with_the_rule(group):
    for attempt in (lambda: check_group(group), lambda: ring_name(group, "binance"), lambda: directory_name(group)):
        with pytest.raises(GroupNameError) as raised:
            attempt()
        assert repr(group) in str(raised.value) and "no '.'" in str(raised.value)


def test_bad_group_names_are_not_value_errors():
    """argparse turns ValueError from a type= function into its own message; this one must reach cli.main."""
    assert not issubclass(GroupNameError, ValueError)


@pytest.mark.parametrize("ring", ["binance", "binance.events", "out.ticks", "signals", "symbols", "tp1024"])
def test_ring_shapes_the_topology_makes(ring):
    assert names.check_ring(ring) == ring


@pytest.mark.parametrize("ring", ["x.binance", "x.binance.events", "x.out.ticks", "out.", ".events", "a b"])
def test_other_ring_shapes_are_refused(ring):
    with pytest.raises(segment.SegmentError):
        ring_name("G", ring)
    assert split(f"tickagg.G.{ring}") is None


def test_split_never_reads_a_dotted_neighbour_as_the_group():
    assert split("tickagg.G.x.binance") is None  # G.x's binance, or G's "x.binance": neither is valid
    assert split("tickagg.G.x.symbols") is None
    assert split("tickagg.Gx.binance") == ("Gx", "binance")
    assert split("other.G.binance") is None


def test_group_segments_match_the_group_exactly(group):
    """A legacy dotted neighbour (made by an earlier release) and a longer name are never the group's."""
    neighbour, longer = f"tickagg.{group}.x.binance.events", ring_name(group + "x", "binance")
    own = [ring_name(group, short) for short in ("binance", "binance.events", "out.ticks")]
    made = [*own, neighbour, f"tickagg.{group}.x.symbols", longer]
    for name in made:
        Ring(name, PRODUCER, TICK, 8).close()
    SymbolDirectory(group, capacity=4).close()
    try:
        assert group_segments(group) == sorted([*own, directory_name(group)])
        assert group_rings(group) == sorted(own)
        assert neighbour in group_rings(None)  # listing every group shows everything
    finally:
        for name in made:
            segment.remove(name)
        for name in group_segments(group + "x"):
            segment.remove(name)


@pytest.mark.parametrize("argv", [["rings", "--remove", "G.x"], ["rings", "a b"], ["tail", "out.ticks", "--group", "a/b"],
                                  ["feed", "binance", "--group", "G.x"], ["aggregate", "--group", ""],
                                  ["write", "--group", "x y"], ["run", "--group", "../x"]])
def test_a_bad_group_on_the_command_line_is_one_line_and_status_2(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(argv)
    assert status == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tickagg {argv[0]}: bad group name "), lines
    assert "Traceback" not in err.getvalue()


def test_a_ring_made_with_a_good_name_is_found_by_its_group(group):
    with Ring(ring_name(group, "out.events"), PRODUCER, TICK, 8) as ring:
        ring.push_batch(np.zeros(1, TICK))
    assert group_rings(group) == [ring_name(group, "out.events")]
