"""Store URLs: parsing, precedence (flag, environment, embedded default), and passwords never shown."""
from __future__ import annotations

import os

import pytest

from store.url import StoreURLError, configured, parse, redact


def test_clickhouse_url_parts():
    url = parse("clickhouse://writer:s3cr%40t@db.local:9440/market", environ={})
    assert (url.kind, url.host, url.port, url.user, url.password, url.database) == ("clickhouse", "db.local", 9440, "writer", "s3cr@t", "market")
    assert "s3cr" not in str(url) and "s3cr" not in repr(url)
    assert str(url) == "clickhouse://writer:***@db.local:9440/market"


def test_password_from_environment_when_url_has_none():
    url = parse("clickhouse://writer@h/db", environ={"CLICKHOUSE_PASSWORD": "from-env"})
    assert url.password == "from-env" and url.port == 9000 and "from-env" not in str(url)


def test_defaults_and_precedence(tmp_path):
    assert configured(None, environ={}).kind == "chdb"
    assert configured(None, environ={}).path == os.path.abspath("./data")
    env = {"CLICKHOUSE_URL": "clickhouse://a@h1/x", "TICKAGG_STORE": "clickhouse://a@h2/y"}
    assert configured(None, environ=env).host == "h2"
    assert configured(None, environ={"CLICKHOUSE_URL": "clickhouse://a@h1/x"}).host == "h1"
    assert configured(f"chdb://{tmp_path}", environ=env).path == str(tmp_path)
    assert parse("chdb:rel/dir", environ={}).path == os.path.abspath("rel/dir")


def test_a_chdb_directory_with_a_question_mark_is_refused():
    """chDB reads what follows a "?" in its path as engine settings: such a directory would open somewhere else."""
    with pytest.raises(StoreURLError, match="may not contain '\\?'"):
        parse("chdb:///var/lib/tick?agg", environ={})


def test_bad_urls_do_not_echo_the_password():
    with pytest.raises(StoreURLError) as info:
        parse("mysql://u:hunter2@h/db", environ={})
    assert "hunter2" not in str(info.value)
    with pytest.raises(StoreURLError) as info:
        parse("clickhouse://u:hunter2@h/bad-name!", environ={})
    assert "hunter2" not in str(info.value)


def test_redact():
    assert redact("failed: clickhouse://u:pw@h:9000/db timed out") == "failed: clickhouse://u:***@h:9000/db timed out"
    assert redact("Wrong password pw123 for user", password="pw123") == "Wrong password *** for user"
