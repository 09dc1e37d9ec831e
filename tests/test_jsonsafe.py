"""Bounded JSON (helper.net.jsonsafe): each limit at its edge, the last value accepted and
the first refused, and what is refused is an ``UnsafeJSON`` (a ValueError) saying which."""

from __future__ import annotations

import json

import pytest

from helper.net import jsonsafe
from helper.net.jsonsafe import UnsafeJSON, loads

MIB = 1024 * 1024


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_the_limits_are_the_documented_ones():
    assert (jsonsafe.MAX_SIZE, jsonsafe.MAX_DEPTH, jsonsafe.MAX_DIGITS) == (MIB, 32, 20)


@pytest.mark.parametrize("kind", [bytes, str])
def test_exactly_1_mib_is_accepted_and_one_byte_more_is_refused(kind):
    text = '"' + "a" * (MIB - 2) + '"'
    assert len(text) == MIB
    data = text.encode() if kind is bytes else text
    assert loads(data) == "a" * (MIB - 2)
    more = '"' + "a" * (MIB - 1) + '"'  # valid JSON: only the size refuses it
    with pytest.raises(UnsafeJSON, match="larger than 1 MiB"):
        loads(more.encode() if kind is bytes else more)


def test_32_levels_are_accepted_and_33_refused():
    value = loads(nested(32))
    for _ in range(31):
        (value,) = value
    assert value == []
    with pytest.raises(UnsafeJSON, match="deeper than 32"):
        loads(nested(33))
    with pytest.raises(UnsafeJSON, match="deeper than 32"):
        loads('{"a": ' * 33 + "1" + "}" * 33)
    assert loads('{"a": ' * 32 + "1" + "}" * 32) is not None


def test_depth_counts_nesting_not_brackets():
    """Closing a level gives it back: many siblings are as deep as one."""
    wide = "[" + ",".join([nested(31)] * 50) + "]"
    assert len(loads(wide)) == 50
    objects = "[" + ",".join(['{"a": [1]}'] * 100) + "]"
    assert len(loads(objects)) == 100
    with pytest.raises(UnsafeJSON, match="deeper"):  # a closed sibling first: still 33
        loads("[[]," + nested(32) + "]")


def test_brackets_inside_strings_are_not_levels():
    text = json.dumps({"a": "[" * 40, "b": "{" * 40, "c": 'say \\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['})
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)
    with pytest.raises(UnsafeJSON, match="deeper"):  # a string does not hide real levels
        loads('["x", ' + nested(32) + "]")


def test_no_brackets_at_all_is_depth_zero():
    assert loads("1") == 1
    assert loads('"[["') == "[["


@pytest.mark.parametrize("sign", ["", "-"])
def test_20_digits_are_accepted_and_21_refused(sign):
    assert loads(sign + "9" * 20) == int(sign + "9" * 20)
    with pytest.raises(UnsafeJSON, match="out of range"):
        loads(sign + "1" + "0" * 20)
    with pytest.raises(UnsafeJSON, match="out of range"):
        loads('{"expires_at": ' + sign + "1" * 21 + "}")


def test_finite_floats_are_accepted_and_overflowing_ones_refused():
    assert loads("1.5") == 1.5
    assert loads("-2.5e3") == -2500.0
    assert loads("1e308") == 1e308
    for text in ("1e309", "-1e309", '{"a": [1e400]}'):
        with pytest.raises(UnsafeJSON, match="out of range"):
            loads(text)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}'])
def test_the_constants_json_does_not_allow_are_refused(text):
    with pytest.raises(UnsafeJSON, match="not a number JSON allows"):
        loads(text)


def test_a_refusal_is_a_value_error_and_bytes_must_be_utf8():
    assert issubclass(UnsafeJSON, ValueError)
    with pytest.raises(ValueError):
        loads(b'"\xff"')
    assert loads('{"k": "v"}') == {"k": "v"} == loads(b'{"k": "v"}')


def test_a_parser_that_still_recurses_too_deep_is_refused_the_same_way(monkeypatch):
    """The last line behind the depth count: a RecursionError is never what callers see."""
    def recursing(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(jsonsafe.json, "loads", recursing)
    with pytest.raises(UnsafeJSON, match="nested too deeply"):
        loads("[1]")
