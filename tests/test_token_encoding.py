"""A token no HTTP header can carry, from wherever a token enters: one line, exit 1, nothing
sent and nothing stored; never "internal error" (http.client's UnicodeEncodeError)."""

from __future__ import annotations

import json

import pytest
import responses

ODD = "gho_" + "a1b2c3d4e5f6g7h8" + "€" + "z9y8"  # outside latin-1: http.client refuses it


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def nothing_sent_or_stored(box) -> None:
    assert sum(box.server.counts.values()) == 0, box.server.counts
    assert box.stored() == {}
    assert not (box.state("copilot") or {}).get("token")


@pytest.mark.parametrize("name", ["GH_TOKEN", "COPILOT_GITHUB_TOKEN", "GITHUB_TOKEN"])
@pytest.mark.parametrize("action", ["get", "token"])
def test_an_environment_token_outside_ascii_is_one_line(sandbox, name, action):
    result = sandbox.run(action, input=sandbox.credential() if action == "get" else "",
                         env={name: ODD})
    assert result.returncode == 1 and result.stdout == ""
    line = one_line(result.stderr)
    assert "U+20AC" in line and "printable ASCII" in line and ODD not in line
    nothing_sent_or_stored(sandbox)


def test_doctor_reports_it_as_a_failed_check(sandbox):
    result = sandbox.run("doctor", env={"GH_TOKEN": ODD})
    assert result.returncode == 1
    assert "U+20AC" in result.stdout and ODD not in result.stdout
    assert sandbox.server.exchanges == 0


def test_git_store_at_the_login_host_is_not_stored(sandbox):
    """git approves to every helper; git ignores a store's answer, so the refusal is the
    same as for any token the exchange refuses: one line, exit 0."""
    result = sandbox.run("store", input=sandbox.credential(
        host=sandbox.login_host, username="octocat", password=ODD))
    assert result.returncode == 0
    assert "not storing" in one_line(result.stderr) and "U+20AC" in result.stderr
    nothing_sent_or_stored(sandbox)


@pytest.mark.parametrize("data", [
    b"gho_a1b2c3d4e5f6g7h8\xff\xfez9y8\n",  # not UTF-8 at all
    ODD.encode() + b"\n",
    b"gho_a1b2c3d4e5f6g7h8\xe9z9y8\n",  # latin-1 bytes
])
def test_login_with_token_outside_ascii_is_one_line(sandbox, data):
    result = sandbox.run("login", "--with-token", input=data)
    assert result.returncode == 1
    assert "nothing was stored" in one_line(result.stderr)
    nothing_sent_or_stored(sandbox)


def test_a_stored_login_edited_by_hand_is_one_line(logged_in):
    """A file a person (or another tool) wrote: the store hands back what it holds."""
    from conftest import uncached

    box = uncached(logged_in)
    path = box.stored_path()
    login = json.loads(path.read_text())
    login["access_token"] = "gho_é" + login["access_token"][4:]
    path.write_text(json.dumps(login))
    before = box.server.exchanges
    result = box.run("get", input=box.credential())
    assert result.returncode == 1 and "U+00E9" in one_line(result.stderr)
    assert box.server.exchanges == before


@responses.activate
def test_the_transport_refuses_before_any_request():
    from helper.net.transport import Transport, UnsendableError

    transport = Transport(timeout=1, budget=1)
    with pytest.raises(UnsendableError, match=r"U\+20AC at position 21.*gho_…z9y8"):
        transport.request("GET", "https://api.example.com/x",
                          headers={"Authorization": f"token {ODD}"})
    with pytest.raises(UnsendableError, match="X-Client"):
        transport.request("GET", "https://api.example.com/x", headers={"X-Client": "é"})
    assert len(responses.calls) == 0


@pytest.mark.parametrize(("value", "safe"), [
    ("gho_abc", True), ("tid=1;exp=2;sku=x:ab", True), ("token gho_abc", True), ("", True),
    ("gho_é", False), ("gho_€", False), ("gho\n", False), ("gho\x7f", False),
    ("\udcff", False), ("\ufffd", False),
])
def test_header_safe(value, safe):
    from helper.net.transport import header_safe

    assert header_safe(value) is safe
