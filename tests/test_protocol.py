"""The credential protocol parser: git's rules, the limits, and fuzzing."""

from __future__ import annotations

import io

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helper.commands import protocol
from helper.errors import ProtocolError


def read(data: bytes) -> protocol.Credential:
    return protocol.read(io.BytesIO(data))


def test_reads_known_keys_and_ignores_the_rest():
    cred = read(b"protocol=https\nhost=API.githubcopilot.com\nnoequals\n=novalue\nfoo=bar\n\n")
    assert cred.protocol == "https" and cred.host == "API.githubcopilot.com"
    assert cred.password == ""


def test_stops_at_the_blank_line_and_leaves_the_rest_unread():
    stream = io.BytesIO(b"host=a\n\nhost=b\n")
    assert protocol.read(stream).host == "a"
    assert stream.read() == b"host=b\n"


def test_eof_without_blank_line_or_newline():
    assert read(b"host=a\nprotocol=https").protocol == "https"


def test_value_may_contain_equals_signs():
    assert read(b"password=a=b==\n").password == "a=b=="


def test_array_keys_accumulate_and_an_empty_value_resets():
    cred = read(b"wwwauth[]=Basic\nwwwauth[]=Bearer\ncapability[]=authtype\n"
                b"capability[]=\ncapability[]=state\n")
    assert cred.arrays == {"wwwauth": ("Basic", "Bearer"), "capability": ("state",)}


def test_url_is_split_like_git_does():
    cred = read(b"url=https://user:pw@api.githubcopilot.com:8443/v1/chat\n")
    assert (cred.protocol, cred.host, cred.path, cred.username, cred.password) == (
        "https", "api.githubcopilot.com:8443", "v1/chat", "user", "pw")


@pytest.mark.parametrize("data, message", [
    (b"host=a\rb\n", "carriage return"),
    (b"host=a\r\n", "carriage return"),
    (b"host=a\x00\n", "NUL"),
    (b"host=\xff\n", "UTF-8"),
    (b"url=https://a%0d.b/\n", "control character"),
    (b"url=https://a%0a.b/\n", "control character"),
    (b"url=https://a%00.b/\n", "control character"),
    (b"url=https://a%ff.b/\n", "not UTF-8"),
    (b"url=no-scheme\n", "not a URL"),
    (b"k=" + b"v" * (64 * 1024) + b"\n", "64 KiB"),
])
def test_hostile_input_is_refused(data, message):
    with pytest.raises(ProtocolError, match=message):
        read(data)


def test_a_line_of_exactly_64_kib_is_accepted():
    value = b"v" * (64 * 1024 - len(b"password="))
    line = b"password=" + value  # 64 KiB, not counting the newline
    assert len(line) == 64 * 1024
    assert read(line + b"\nhost=h\n").password == value.decode()
    with pytest.raises(ProtocolError, match="64 KiB"):
        read(line + b"v\n")  # one byte more is refused


def test_input_over_1_mib_is_refused():
    data = (b"k=" + b"v" * 1000 + b"\n") * 1100
    with pytest.raises(ProtocolError, match="1 MiB"):
        read(data)


def test_write_refuses_values_that_break_the_protocol():
    with pytest.raises(ProtocolError):
        protocol.write(io.StringIO(), [("password", "a\nhost=evil")])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=4096))
@example(b"==")
@example(b"wwwauth[]=a\nwwwauth[]=b\nwwwauth[]=\n=\n[]=x\n")
@example(b"url=\nurl=https://@/\n")
def test_fuzz_random_bytes_give_a_credential_or_a_protocol_error(data):
    try:
        cred = read(data)
    except ProtocolError as e:
        assert "\n" not in str(e)
        return
    for value in (cred.protocol, cred.host, cred.path, cred.username, cred.password,
                  cred.password_expiry_utc):
        assert "\r" not in value and "\n" not in value and "\0" not in value


hosts = st.sampled_from([
    "api.githubcopilot.com", "API.GITHUBCOPILOT.COM", "api.githubcopilot.com.evil.com",
    "evil.com%0d", "api.githubcopilot.com%00", "user@api.githubcopilot.com",
    "xn--pi-8ja.githubcopilot.com", "api.githubcopilot.com:443", "[::1]:8080", "",
])


@settings(max_examples=200, deadline=None)
@given(hosts, st.sampled_from(["https", "http", "", "ftp"]), st.text(max_size=30))
def test_fuzz_urls_with_tricky_hosts(host, scheme, path):
    data = f"url={scheme}://{host}/{path}\n".encode("utf-8", "surrogatepass")
    try:
        cred = read(data)
    except (ProtocolError, UnicodeEncodeError):
        return
    assert "\r" not in cred.host and "\0" not in cred.host
