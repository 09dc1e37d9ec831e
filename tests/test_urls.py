"""URLs and hosts (helper.net.urls): secrets travel over https, or plain http to a loopback
host only; host names are read the one way the credential protocol spells them."""

from __future__ import annotations

import pytest

from helper.net import urls


@pytest.mark.parametrize("url", [
    "https://api.githubcopilot.com", "https://api.githubcopilot.com/v1/",
    "https://github.example.com:8443/api", "http://localhost:8080", "http://LOCALHOST/x",
    "http://127.0.0.1:1/", "http://127.1.2.3", "http://[::1]:9/",
])
def test_urls_secrets_may_travel_to(url):
    assert urls.url_problem(url) == ""


@pytest.mark.parametrize("url, problem", [
    ("http://api.githubcopilot.com", "plain http:// is only allowed for loopback hosts"),
    ("http://localhost.evil.example", "plain http:// is only allowed for loopback hosts"),
    ("http://127.0.0.1.evil.example", "plain http:// is only allowed for loopback hosts"),
    ("http://0.0.0.0:80", "plain http:// is only allowed for loopback hosts"),
    ("http://", "plain http:// is only allowed for loopback hosts"),
    ("ftp://localhost/", "is not an https:// URL"),
    ("ftp://example.com/", "is not an https:// URL"),
    ("https://", "is not an https:// URL"),
    ("https:///path", "is not an https:// URL"),
    ("api.githubcopilot.com", "is not an https:// URL"),
    ("https://user:pw@api.example.com", "user name or password"),
    ("https://user@api.example.com", "user name or password"),
    ("https://:pw@api.example.com", "user name or password"),
    ("https://api.example.com:99999", "is not a valid URL"),
    ("https://[::1/", "is not a valid URL"),
    ("https://api.example.com/a b", "whitespace or control characters"),
    ("https://api.example.com/\x01", "whitespace or control characters"),
    ("https://api.example.com/\u2028", "whitespace or control characters"),
])
def test_urls_secrets_may_not_travel_to(url, problem):
    assert problem in urls.url_problem(url)


def test_printable():
    assert urls.printable("https://a.example/x?y=1")
    assert urls.printable("")
    for text in ("a b", "a\tb", "a\nb", "a\x7fb", "a\x00", "a\u2029"):
        assert not urls.printable(text), repr(text)


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("LocalHost", True), ("127.0.0.1", True), ("127.255.0.9", True),
    ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False),
    ("localhost.evil.example", False), ("127.0.0.1.evil.example", False), ("", False),
    ("example.com", False),
])
def test_is_loopback(host, loopback):
    assert urls.is_loopback(host) is loopback


@pytest.mark.parametrize("host", [
    "127.0.0.01", "0127.0.0.1", "127.0.1", "127.1", "127.0.0.0.1", "127.0.0.256",
    "127.0.0.-1", "127.0.0.+1", "127.0.0.²", "127.0.0.١", "127.0.0. 1", "127.0.0.x",
    "127..0.1", "128.0.0.1", "1.0.0.127",
])
def test_spellings_ipaddress_refuses_are_not_loopback(host):
    """The quick check for plain dotted quads answers as ``ipaddress`` would, or leaves it."""
    import ipaddress

    try:
        want = ipaddress.ip_address(host).is_loopback
    except ValueError:
        want = False
    assert urls.is_loopback(host) is want is False


def test_plain_spellings_are_answered_without_importing_ipaddress(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ipaddress", None)  # any import of it now fails
    for host, loopback in [("127.0.0.1", True), ("127.255.255.255", True), ("10.0.0.1", False),
                           ("localhost", True), ("::1", True), ("[::1]", True)]:
        assert urls.is_loopback(host) is loopback, host
    with pytest.raises(ImportError):
        urls.is_loopback("::2")  # anything else: ipaddress decides


@pytest.mark.parametrize("text, ok", [
    ("api.githubcopilot.com", True), ("api.example.com:8443", True), ("[::1]:8080", True),
    ("127.0.0.1", True), ("under_score.example", True), ("https://a.example", False),
    ("a.example/v1", False), ("a.example:", False), ("a.example:123456", False),
    ("user@a.example", False), ("", False), ("a b", False), ("[::1", False),
    ("a.example\n", False),
])
def test_is_host(text, ok):
    assert urls.is_host(text) is ok
    assert urls.is_host(text) is ok  # the compiled pattern is kept, and still the same


@pytest.mark.parametrize("url, host", [
    ("https://API.GitHubCopilot.com/v1/chat", "api.githubcopilot.com"),
    ("https://user@api.example.com:8443/x", "api.example.com:8443"),
    ("https://a@b@c.example/x", "c.example"),
    ("https://a.example/x://evil.example", "a.example"),
    ("https://a.example", "a.example"),
    ("api.example.com/v1", "api.example.com"),
    ("http://[::1]:8080/v1", "[::1]:8080"),
])
def test_host_of(url, host):
    assert urls.host_of(url) == host


@pytest.mark.parametrize("host, name", [
    ("api.example.com", "api.example.com"), ("api.example.com:443", "api.example.com"),
    ("[::1]:8080", "::1"), ("[::1]", "::1"), ("::1", "::1"), ("127.0.0.1:9", "127.0.0.1"),
])
def test_hostname(host, name):
    assert urls.hostname(host) == name


@pytest.mark.parametrize("protocol, host, ok", [
    ("https", "api.githubcopilot.com", True),
    ("", "api.githubcopilot.com", True),  # git says no protocol: it is https to us
    ("https", "localhost", True),
    ("http", "localhost:8080", True),
    ("http", "127.0.0.1:1234", True),
    ("http", "[::1]:8080", True),
    ("http", "api.githubcopilot.com", False),  # tokens never go over plain http to a server
    ("http", "localhost.evil.example", False),
    ("ftp", "localhost", False),
    ("ftp", "api.githubcopilot.com", False),
    ("HTTPS", "api.githubcopilot.com", False),
])
def test_transport_ok(protocol, host, ok):
    assert urls.transport_ok(protocol, host) is ok


def test_plain_http_to_a_claimed_host_that_is_not_loopback_gets_no_token(logged_in):
    """A host the profile claims, asked over http: git would send the token in clear text."""
    box = logged_in
    box.config_path.write_text(box.config_path.read_text().replace(
        f'hosts = ["{box.server.host}"]', f'hosts = ["{box.server.host}", "llm.example.com"]'))
    over_https = box.call("get", input=box.credential(host="llm.example.com", protocol="https"))
    assert over_https.returncode == 0 and over_https.pairs()["password"]  # claimed: served
    for protocol in ("http", "ftp"):
        result = box.call("get", input=box.credential(host="llm.example.com", protocol=protocol))
        assert (result.returncode, result.stdout) == (0, ""), protocol
    loopback = box.call("get", input=box.credential(protocol="http"))
    assert loopback.pairs()["password"] == over_https.pairs()["password"]
