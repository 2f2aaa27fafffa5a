"""The dashboard's chDB source refuses to ask what is not its writer's socket, and says why
(tickagg/dashboard/sources.py)."""
from __future__ import annotations

import pytest

from store.url import parse
from store.panels import PANELS, Params
from tickagg.dashboard.sources import SourceError, WriterSource, open_source

PARAMS = Params(1_800_000_000 - 300, 1_800_000_000)


def test_no_writer_socket_says_to_start_the_group(tmp_path):
    source = open_source(parse(f"chdb://{tmp_path}/db"), str(tmp_path / "writer"), "g1")
    with pytest.raises(SourceError, match="no writer is serving"):
        source.panel(PANELS["stages"], PARAMS)


def test_a_regular_file_in_the_sockets_place_is_not_asked(tmp_path):
    path = tmp_path / "dashboard.sock"
    path.write_text("")
    with pytest.raises(SourceError, match="not a socket"):
        WriterSource(parse(f"chdb://{tmp_path}/db"), str(path)).symbols()

