"""dashboards/generate.py takes only a database name that is a name: it goes into every panel's SQL as it is."""
from __future__ import annotations

import pytest

from dashboards import generate


@pytest.mark.parametrize("database", ["x; DROP TABLE y", "tick-agg", "", "a.b", "db`"])
def test_a_database_that_is_not_a_name_is_refused(database):
    with pytest.raises(ValueError, match="database"):
        generate.clickhouse_dashboard(database)


def test_a_database_name_goes_into_every_query():
    document = generate.clickhouse_dashboard("market_data2")
    sql = [target["rawSql"] for panel in document["panels"] for target in panel["targets"]]
    assert sql and all("market_data2." in text for text in sql)
