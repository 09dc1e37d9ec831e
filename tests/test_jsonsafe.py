"""Bounded JSON (helper.net.jsonsafe): each limit at its edge, the last value accepted and
the first refused, and what is refused is an ``UnsafeJSON`` (a ValueError) saying which.

Then every reader of JSON (a server's answer, the state file, the secrets file, a keyring
value): hostile JSON is garbage, one line and never a crash, and a planted file is treated as
absent and rewritten."""

from __future__ import annotations

import json

import pytest
import responses

from helper.net import jsonsafe
from helper.net.jsonsafe import UnsafeJSON, loads
from helper.net.transport import ServerError, Transport

from conftest import point_exchange_at, uncached
from fakeserver import Fault

MIB = 1024 * 1024
EXCHANGE = "/copilot_internal/v2/token"


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
    text = json.dumps({"a": "[" * 40, "b": "{" * 40, "c": 'say \\"' + "[" * 34})
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


# -- every JSON read is bounded: hostile JSON is garbage, not a crash ----------------------


DEEP = b"[" * 100000 + b"]" * 100000
HOSTILE_JSON = [b"1e400", b'{"a": NaN}', b'{"a": -Infinity}', DEEP,
                b'{"a": ' * 40 + b"1" + b"}" * 40, b'{"a": 1' + b"0" * 30 + b"}",
                b" " * (1024 * 1024 + 1)]


@pytest.mark.parametrize("data", HOSTILE_JSON, ids=lambda d: repr(d[:12]))
def test_hostile_json_is_refused_as_a_value_error(data):
    with pytest.raises(ValueError):
        jsonsafe.loads(data)


def test_ordinary_json_with_brackets_in_strings_is_accepted():
    text = json.dumps({"a": "[[[[" * 100, "b": [1.5, -2, {"c": None}]})
    assert jsonsafe.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("body", [DEEP, b'{"token": "x", "expires_at": 1e400}',
                                  b'{"token": NaN}'], ids=["deep", "1e400", "NaN"])
@responses.activate
def test_server_garbage_is_one_line(body):
    responses.post("https://api.example.com/t", status=400, body=body)
    response = Transport().request("POST", "https://api.example.com/t")
    with pytest.raises(ServerError, match="sent garbage") as e:
        response.json_object()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("body", [DEEP, b'{"token": "tid=1", "expires_at": 1e400}'],
                         ids=["deep", "1e400"])
def test_hostile_exchange_answer_is_one_line_not_an_internal_error(logged_in, body):
    uncached(logged_in)
    # retried garbage: a short budget; each answer comes at once, so a long timeout is free
    point_exchange_at(logged_in, logged_in.server.url, budget=0.3, timeout=30)
    logged_in.server.inject(EXCHANGE, *[Fault(status=200, body=body)] * 20)
    result = logged_in.run("get", input=logged_in.credential())
    assert result.returncode == 1 and "password=" not in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "internal error" not in result.stderr and "garbage" in result.stderr


@pytest.mark.parametrize("planted", [DEEP, b'{"token": {"token": "x", "expires_at": 1e400, '
                                     b'"refresh_at": 1, "minted_at": 1}}', b'{"dead": NaN}'],
                         ids=["deep", "1e400", "NaN"])
def test_planted_state_file_is_treated_as_absent_once(logged_in, planted):
    box = logged_in
    box.state_dir.mkdir(parents=True, exist_ok=True)
    (box.state_dir / "copilot.json").write_bytes(planted)
    first = box.run("get", input=box.credential())
    assert first.returncode == 0 and "ignoring" in first.stderr, first.stderr
    second = box.run("get", input=box.credential())
    assert second.returncode == 0 and second.stderr == ""  # rewritten: not failing every call
    assert box.server.exchanges == 2  # the login's check at store, then the first get's


def test_planted_store_file_is_treated_as_absent(logged_in):
    uncached(logged_in)
    logged_in.stored_path().write_bytes(DEEP)
    result = logged_in.run("get", input=logged_in.credential())
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert "ignoring" in result.stderr and "login" in result.stderr


def test_planted_keyring_value_is_one_line():
    from helper.errors import StoreError
    from helper.storage.secrets import KeyringStore

    class Backend:
        def get_password(self, service, name):
            return "[" * 50000 + "]" * 50000

    with pytest.raises(StoreError, match="damaged"):
        KeyringStore(Backend(), 5).read("copilot")
