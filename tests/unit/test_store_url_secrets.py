"""Store URL secrets and TLS options: redaction of any password, the password kept off child command lines,
clickhouses:// / ?secure=1 / ?ca= parsed with verification always on, unknown options refused by name."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from store.url import DEFAULT_SECURE_PORT, PASSWORD_ENV, StoreURLError, for_child, parse, redact

# any password a user may choose: "@", ":", "/", spaces, "%", quotes, non-ASCII; one line
PASSWORDS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                    min_size=1, max_size=40)


@given(PASSWORDS)
@example("p@ss word")
@example("a:b/c@d")
@example("100%")
@settings(max_examples=150, deadline=None)
def test_redact_hides_any_password_raw_or_percent_encoded(password):
    for written in (password, quote(password, safe="")):
        text = f"cannot connect to clickhouse://writer:{written}@db.example:9000/tickagg: timed out"
        assert redact(text) == "cannot connect to clickhouse://writer:***@db.example:9000/tickagg: timed out"


@given(PASSWORDS)
@settings(max_examples=150, deadline=None)
def test_redact_with_the_known_password_hides_it_anywhere(password):
    assume("*" not in password)  # "***" itself could spell it
    text = f"Code: 516. Authentication failed: password {password} / {quote(password, safe='')} is incorrect"
    assert password not in redact(text, password)


@given(PASSWORDS)
@settings(max_examples=150, deadline=None)
def test_parsed_url_never_shows_its_password(password):
    url = parse(f"clickhouses://writer:{quote(password, safe='')}@db.example/tickagg", environ={})
    assert url.password == password
    assert str(url) == "clickhouses://writer:***@db.example:9440/tickagg"
    assert url.without_password() == "clickhouses://writer@db.example:9440/tickagg"
    assert "password=" not in repr(url)


def test_password_from_tickagg_store_password_first():
    env = {PASSWORD_ENV: "mine", "CLICKHOUSE_PASSWORD": "theirs"}
    assert parse("clickhouse://w@h/db", environ=env).password == "mine"
    assert parse("clickhouse://w@h/db", environ={"CLICKHOUSE_PASSWORD": "theirs"}).password == "theirs"
    assert parse("clickhouse://w:inurl@h/db", environ=env).password == "inurl"


def test_for_child_moves_the_password_to_the_environment():
    text, env = for_child("clickhouse://w:s%40cr%20t@h:9001/db", environ={})
    assert text == "clickhouse://w@h:9001/db" and env == {PASSWORD_ENV: "s@cr t"}
    assert parse(text, environ=env).password == "s@cr t"
    assert for_child("clickhouse://w@h/db", environ={}) == ("clickhouse://w@h:9000/db", {})


def test_tls_forms(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read at parse time")
    secure = parse("clickhouses://w@h/db", environ={})
    assert (secure.secure, secure.port, secure.ca) == (True, DEFAULT_SECURE_PORT, "")
    assert parse("clickhouse://w@h/db?secure=1", environ={}).secure
    assert parse("clickhouse://w@h:9000/db?secure=0", environ={}).secure is False
    with_ca = parse(f"clickhouse://w@h:9441/db?ca={ca}", environ={})
    assert (with_ca.secure, with_ca.port, with_ca.ca) == (True, 9441, str(ca))
    assert parse(with_ca.without_password(), environ={}) == with_ca  # what a child gets parses back the same
    assert not parse("clickhouse://w@h/db", environ={}).secure


@pytest.mark.parametrize("text, named", [
    ("clickhouse://w:pw@h/db?verify=0", "'verify'"),
    ("clickhouse://w:pw@h/db?secure=maybe", "secure='maybe'"),
    ("clickhouses://w:pw@h/db?ca=/no/such/ca.pem", "/no/such/ca.pem"),
])
def test_bad_options_are_named_without_the_password(text, named):
    with pytest.raises(StoreURLError) as info:
        parse(text, environ={})
    assert named in str(info.value) and "pw" not in str(info.value)
