"""The credential protocol parser: git's rules, the limits, and fuzzing."""

from __future__ import annotations

import io

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helper.commands import protocol
from helper.errors import ProtocolError

from conftest import require_executable


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


# -- the limits at their edges -------------------------------------------------------------

MIB = 1024 * 1024
FULL_LINE = b"k=" + b"v" * (64 * 1024 - 2) + b"\n"  # 64 KiB of content, and its newline


def test_exactly_1_mib_of_input_is_read_and_one_byte_more_is_refused():
    data = FULL_LINE * 15 + b"password=" + b"p" * (MIB - 15 * len(FULL_LINE) - 10) + b"\n"
    assert len(data) == MIB
    assert len(read(data).password) == MIB - 15 * len(FULL_LINE) - 10
    with pytest.raises(ProtocolError, match="1 MiB"):
        read(data + b"\n")  # the blank line that ends it is input too


def test_a_last_line_without_newline_may_be_64_kib_but_not_one_byte_more():
    line = b"password=" + b"p" * (64 * 1024 - len(b"password="))
    assert read(b"host=h\n" + line).password == line[9:].decode()
    with pytest.raises(ProtocolError, match="64 KiB"):
        read(b"host=h\n" + line + b"p")


def test_a_line_without_newline_ends_the_input():
    """Only EOF leaves a line unterminated: nothing after it is read, however it arrives."""
    class Chunks:
        def __init__(self, *chunks: bytes):
            self.chunks = list(chunks)

        def readline(self, limit: int = -1) -> bytes:
            return self.chunks.pop(0) if self.chunks else b""

    stream = Chunks(b"host=a.example\n", b"protocol=https", b"host=evil.example\n")
    cred = protocol.read(stream)
    assert (cred.host, cred.protocol) == ("a.example", "https")
    assert stream.chunks == [b"host=evil.example\n"]


# -- lines that are not key=value ------------------------------------------------------------

def test_a_line_without_equals_sets_nothing():
    cred = read(b"host=a.example\nhost\npassword\n")
    assert (cred.host, cred.password) == ("a.example", "")


def test_a_url_line_clears_what_came_before_and_later_lines_override_it():
    """git's credential_from_url starts from an empty credential, arrays included."""
    cred = read(b"host=evil.example\nusername=x\npassword=pw-before-url\nwwwauth[]=Basic\n"
                b"url=https://api.githubcopilot.com//v1//\n")
    assert (cred.host, cred.username, cred.password, cred.path) == (
        "api.githubcopilot.com", "", "", "v1")
    assert cred.arrays == {}
    cred = read(b"url=https://a.example/\nhost=b.example\nwwwauth[]=Bearer\n")
    assert (cred.host, cred.arrays) == ("b.example", {"wwwauth": ("Bearer",)})


@pytest.mark.parametrize("data", [b"host=\n", b"url=https:///evil.example/\n",
                                  b"host=api.githubcopilot.com\nurl=https:///x\n",
                                  b"url=https://u@/x\n"])
def test_an_explicitly_empty_host_is_refused(data):
    with pytest.raises(ProtocolError, match="empty host"):
        read(data)


def test_no_host_line_at_all_is_no_host():
    assert read(b"protocol=https\n\n").host == ""


# -- url= is split as git's credential_from_url splits it ------------------------------------

@pytest.mark.parametrize("url, parts", [
    ("https://api.example.com", ("https", "api.example.com", "", "", "")),
    ("https://api.example.com:8443/v1/chat/", ("https", "api.example.com:8443", "v1/chat", "", "")),
    ("https://u@api.example.com/x", ("https", "api.example.com", "x", "u", "")),
    ("https://u@api.example.com:8443/", ("https", "api.example.com:8443", "", "u", "")),
    ("https://u:p%40ss@api.example.com/", ("https", "api.example.com", "", "u", "p@ss")),
    ("https://:pw@api.example.com/", ("https", "api.example.com", "", "", "pw")),
    ("https://@api.example.com/", ("https", "api.example.com", "", "", "")),
    ("https://api.example.com/a@b:c", ("https", "api.example.com", "a@b:c", "", "")),
    ("https://api.example.com/p?q=a@b", ("https", "api.example.com", "p?q=a@b", "", "")),
    ("http://[::1]:8080/v1", ("http", "[::1]:8080", "v1", "", "")),
    ("https://a%2Eexample.com/", ("https", "a.example.com", "", "", "")),
])
def test_url_parts_are_split_like_git(url, parts):
    cred = read(f"url={url}\n".encode())
    assert (cred.protocol, cred.host, cred.path, cred.username, cred.password) == parts


@pytest.mark.parametrize("url", ["://api.example.com/", "api.example.com", "https:/x"])
def test_a_url_without_a_scheme_is_refused(url):
    with pytest.raises(ProtocolError, match="not a URL"):
        read(f"url={url}\n".encode())


@pytest.mark.parametrize("url", [
    "https://evil.example?@api.githubcopilot.com/",  # '?' ends the authority (git, curl)
    "https://evil.example#@api.githubcopilot.com/",  # '#' too
    "https://user@evil@api.githubcopilot.com/",  # git: host 'evil@api…'; urllib: 'api…'
    "https://evil.example\\@api.githubcopilot.com/",  # browsers read '\\' as '/'
    "https://api.githubcopilot.com?x/y",  # git before 2.26.1: host 'api…?x'
    "https://api.githubcopilot.com\t.evil.example/",  # urllib drops the tab, git keeps it
    "https://[::1x/",  # urllib cannot read it at all
])
def test_a_url_naming_two_hosts_is_refused(url):
    with pytest.raises(ProtocolError, match="ambiguously"):
        read(f"url={url}\n".encode())


AMBIGUOUS_URLS = [
    "https://evil.example?@api.githubcopilot.com/",  # '?' ends the authority (git, curl)
    "https://evil.example#@api.githubcopilot.com/",  # '#' too
    "https://user@evil@api.githubcopilot.com/",  # git: host 'evil@api…'; urllib: 'api…'
    "https://evil.example\\@api.githubcopilot.com/",  # browsers read '\\' as '/'
    "https://api.githubcopilot.com?x/y",  # git before 2.26.1: host 'api…?x'
]


@pytest.mark.parametrize("url", AMBIGUOUS_URLS)
def test_url_naming_two_hosts_is_refused(url):
    with pytest.raises(ProtocolError, match="ambiguously"):
        protocol.read(io.BytesIO(f"url={url}\n".encode()))


@pytest.mark.parametrize("data", [b"url=https:///evil.example/\n", b"host=\n",
                                  b"host=api.githubcopilot.com\nurl=https:///x\n"])
def test_an_explicitly_empty_host_is_not_no_host(data):
    with pytest.raises(ProtocolError, match="empty host"):
        protocol.read(io.BytesIO(data))


def test_url_lines_apply_in_order_like_git():
    """git's credential_from_url clears what came before; later lines override the URL."""
    cred = protocol.read(io.BytesIO(
        b"host=evil.example\nusername=x\nurl=https://api.githubcopilot.com//v1//\n"))
    assert (cred.host, cred.username, cred.path) == ("api.githubcopilot.com", "", "v1")
    cred = protocol.read(io.BytesIO(b"url=https://a.example/\nhost=b.example\n"))
    assert cred.host == "b.example"


@pytest.mark.parametrize("url, host, user", [
    ("https://u:p@api.githubcopilot.com:443/x", "api.githubcopilot.com:443", "u"),
    ("https://u@api.githubcopilot.com", "api.githubcopilot.com", "u"),
    ("https://api.githubcopilot.com/a@b", "api.githubcopilot.com", ""),  # '@' in the path
])
def test_plain_urls_still_parse_like_git(url, host, user):
    cred = protocol.read(io.BytesIO(f"url={url}\n".encode()))
    assert (cred.host, cred.username) == (host, user)


def test_ambiguous_url_gets_no_token_from_the_installed_command(logged_in):
    require_executable()
    for url in [f"http://evil.example?@{logged_in.server.host}/",
                f"http:///{logged_in.server.host}/"]:
        result = logged_in.run("get", input=f"url={url}\n\n")
        assert result.returncode == 1 and "password=" not in result.stdout
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert logged_in.server.exchanges == 1  # the login's check at store; none since


# -- secrets ---------------------------------------------------------------------------------

def test_a_password_git_hands_over_is_masked_in_every_message():
    """store/erase bring a token the helper may never have issued: it is a secret too."""
    from helper.console import Console

    secret = "pasted-by-hand-not-token-shaped-9f3e"
    read(f"protocol=https\nhost=api.example.com\npassword={secret}\n\n".encode())
    err = io.StringIO()
    Console(err).notice(f"the server refused {secret}")
    assert secret not in err.getvalue() and "past…9f3e" in err.getvalue()
    assert secret not in str(ProtocolError(f"echoed {secret}"))


def test_the_repr_of_a_credential_masks_its_password():
    cred = read(b"host=a.example\nusername=u\npassword=gho_0123456789abcdefghij\n")
    assert "gho_0123456789abcdefghij" not in repr(cred)
    assert "a.example" in repr(cred) and "'u'" in repr(cred)


# -- writing ---------------------------------------------------------------------------------

def test_write_writes_each_pair_as_one_line_and_flushes():
    class Recorder(io.StringIO):
        flushed = 0

        def flush(self) -> None:
            self.flushed += 1
            super().flush()

    out = Recorder()
    protocol.write(out, [("protocol", "https"), ("host", "a.example"), ("password", "p=q")])
    assert out.getvalue() == "protocol=https\nhost=a.example\npassword=p=q\n"
    assert out.flushed == 1


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\0b"])
def test_write_refuses_each_control_character_and_writes_nothing(value):
    out = io.StringIO()
    with pytest.raises(ProtocolError, match="password"):
        protocol.write(out, [("host", "a.example"), ("password", value)])
    assert out.getvalue() == ""


# -- the answer to get ---------------------------------------------------------------------------

def test_the_answer_to_get_names_the_host_asked_about_and_the_tokens_expiry():
    from helper.storage.records import Token

    token = Token("tid=1", 1_800_000_000, 1_799_999_000, 1_799_990_000, username="octo")
    asked = protocol.Credential(protocol="http", host="127.0.0.1:8080")
    assert protocol.answer(asked, token, "api.example.com") == [
        ("protocol", "http"), ("host", "127.0.0.1:8080"), ("username", "octo"),
        ("password", "tid=1"), ("password_expiry_utc", "1800000000")]


def test_without_protocol_host_or_user_the_answer_says_https_the_api_host_and_oauth2():
    from helper.storage.records import Token

    token = Token("tid=1", 5, 4, 3)
    assert protocol.answer(protocol.Credential(), token, "api.example.com") == [
        ("protocol", "https"), ("host", "api.example.com"), ("username", "oauth2"),
        ("password", "tid=1"), ("password_expiry_utc", "5")]
    assert protocol.encode(protocol.answer(protocol.Credential(), token, "")) == (
        "protocol=https\nhost=\nusername=oauth2\npassword=tid=1\npassword_expiry_utc=5\n")
