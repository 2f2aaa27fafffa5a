"""`tickagg.cli.main`: a UsageError from a command is one line and exit status 2; any other exception is a bug
and propagates with its traceback. The argument types refuse what they must."""
from __future__ import annotations

import argparse

import pytest

from feeds import feed_command
from tickagg import args as types
from tickagg.args import UsageError
from tickagg.cli import main


def test_usage_error_is_one_line_exit_2(monkeypatch, capsys):
    def refuse(_args):
        raise UsageError("--symbols: too many for one connection")
    monkeypatch.setattr(feed_command, "run", refuse)
    assert main(["feed", "binance"]) == 2
    assert capsys.readouterr().err == "tickagg feed: --symbols: too many for one connection\n"


def test_a_bug_keeps_its_traceback(monkeypatch):
    def bug(_args):
        raise KeyError("not a usage error")
    monkeypatch.setattr(feed_command, "run", bug)
    with pytest.raises(KeyError):
        main(["feed", "binance"])


@pytest.mark.parametrize("convert, good, bad", [
    (types.positive_int, {"1": 1, "42": 42}, ["0", "-1", "1.5", "x", ""]),
    (types.non_negative_int, {"0": 0, "7": 7}, ["-1", "nan"]),
    (types.positive_float, {"0.5": 0.5, "1e3": 1000.0}, ["0", "-0.1", "nan", "inf", "-inf", "x"]),
    (types.non_negative_float, {"0": 0.0, "2.5": 2.5}, ["-5", "nan", "inf"]),
    (types.port, {"0": 0, "65535": 65535}, ["-1", "65536"]),
    (types.bounded_float(0, 1000, high_open=True), {"0": 0.0, "999.9": 999.9}, ["1000", "-1"]),
    (types.log_level, {"info": "INFO", "Debug": "DEBUG"}, ["nosuch", "", "NOTSET", "5"]),
    (types.ws_url, {"ws://127.0.0.1:9000/x": "ws://127.0.0.1:9000/x", "wss://stream.example": "wss://stream.example"},
     ["http://x", "notaurl", "ws://", "ws://h:99999", "wss:///path"]),
    (types.name_list, {"A": ["A"], "A, B": ["A", "B"]}, [",,,", "", " ", "A,,B", "A,", "A B"]),
])
def test_argument_types(convert, good, bad):
    for text, value in good.items():
        assert convert(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            convert(text)
