"""Attacks that once worked, each kept closed by a test: a hostile caller (``url=``), a
hostile server (trickling bytes, hostile JSON, echoed secrets, a zero polling interval), a
hostile local file (FIFOs, planted JSON), a hostile environment (umask 000, a full stdout).

Each test names the promise it keeps (the README's security section lists them).
"""

from __future__ import annotations

import io

import pytest
import responses

from helper import protocol, rfc8628
from helper.errors import ProtocolError
from helper.transport import Transport

from conftest import require_executable

# -- 1. url= is split exactly as git splits it; a URL read two ways gets nothing ----------

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
    assert logged_in.server.exchanges == 0


# -- 8. the device-flow poll interval: at least 1 s, the RFC's 5 s when missing or 0 ------

CODE_URL = "https://idp.example.com/device"
TOKEN_URL = "https://idp.example.com/token"


@pytest.mark.parametrize("interval, want", [(0, 5), (None, 5), (0.2, 5), (1, 1), (7, 7)])
@responses.activate
def test_poll_interval_is_never_a_tight_loop(interval, want):
    body = {"device_code": "d", "user_code": "U-1", "verification_uri": "https://x/a",
            "expires_in": 600}
    if interval is not None:
        body["interval"] = interval
    responses.post(CODE_URL, json=body)
    responses.post(TOKEN_URL, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, json={"access_token": "at_x", "token_type": "bearer"})
    code = rfc8628.request_code(Transport(), CODE_URL, "client")
    waits: list[float] = []
    rfc8628.poll(Transport(sleep=lambda s: None), TOKEN_URL, "client", code,
                 wait=waits.append, clock=lambda: sum(waits))
    assert waits == [want, want]


@responses.activate
def test_a_device_code_built_with_interval_zero_still_waits():
    responses.post(TOKEN_URL, json={"access_token": "at_x", "token_type": "bearer"})
    code = rfc8628.DeviceCode("d", "U", "https://x", 600, 0)
    waits: list[float] = []
    rfc8628.poll(Transport(), TOKEN_URL, "client", code, wait=waits.append,
                 clock=lambda: sum(waits))
    assert waits == [1]
