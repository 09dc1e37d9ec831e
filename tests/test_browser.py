"""Browser sign-in (issue 11): PKCE, the loopback listener, the choice of flow, and the whole
authorization code flow against the fake IdP - in process with an HTTP client playing the
browser, and through the installed executable with a ``$BROWSER`` script that records each
time it is started and "clicks" by fetching the URL and following the redirect."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
import responses

from helper.console import Console
from helper.net.transport import Transport
from helper.oauth2 import browser, rfc6749, rfc7636, rfc8252, rfc8628

from conftest import expire_access_token, require_executable, wait_until
from procs import Watched

CORP = ("--profile", "corp")
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {**dict(parse_qsl(parts.query)), **changes}
    return urlunsplit(parts._replace(query=urlencode(query)))


def without(url: str, name: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != name]
    return urlunsplit(parts._replace(query=urlencode(query)))


def plain_session() -> requests.Session:
    """An HTTP client with no cookies yet and no proxy: another process on this machine."""
    session = requests.Session()
    session.trust_env = False
    return session


class HttpBrowser:
    """Plays the person's browser: visits URLs in a thread, following redirects one hop at a
    time (``rewrite`` may change each hop, as a tampering extension would) and keeping
    cookies, as a browser does."""

    def __init__(self, rewrite=lambda url: url):
        self.rewrite = rewrite
        self.opened: list[str] = []
        self.pages: list[tuple[int, str]] = []
        self.hops: list[tuple[int, str]] = []  # (status, URL) of every request, in order
        self._threads: list[threading.Thread] = []
        self._started = threading.Lock()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy between us and 127.0.0.1

    def __call__(self, url: str, env=None) -> None:
        self.opened.append(url)
        self.visit(url)

    def visit(self, *urls: str) -> None:
        thread = threading.Thread(target=self._visit, args=urls, daemon=True)
        with self._started:  # join() then waits for any visit a server may have answered
            thread.start()
            self._threads.append(thread)

    def _visit(self, *urls: str) -> None:
        for url in urls:
            try:
                answer = self.follow(url)
                self.pages.append((answer.status_code, answer.text))
            except requests.RequestException as e:
                self.pages.append((0, type(e).__name__))

    def follow(self, url: str) -> requests.Response:
        """GET ``url`` and its redirects (at most 10), each hop rewritten first."""
        for _ in range(10):
            url = self.rewrite(url)
            answer = self.session.get(url, timeout=10, allow_redirects=False)
            self.hops.append((answer.status_code, url))
            if answer.status_code not in (301, 302, 303, 307) or "Location" not in answer.headers:
                return answer
            url = answer.headers["Location"]
        raise AssertionError("more than 10 redirects")

    def join(self) -> None:
        with self._started:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive()


def on_callback(change):
    """A rewrite for the redirect back to the listener only."""
    return lambda url: change(url) if urlsplit(url).path == rfc8252.PATH else url


def on_authorization(change):
    """A rewrite for the request to the authorization endpoint only."""
    return lambda url: change(url) if urlsplit(url).path == "/authorize" else url


# -- RFC 7636 ------------------------------------------------------------------------------


def test_s256_matches_the_rfc_example():
    assert rfc7636.challenge(RFC_VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_verifiers_are_random_within_the_rfc_and_never_shown():
    first, second = rfc7636.new(), rfc7636.new()
    assert first.verifier != second.verifier
    assert rfc7636.VERIFIER.match(first.verifier) and 43 <= len(first.verifier) <= 128
    assert rfc7636.challenge(first.verifier) == first.challenge == s256(first.verifier)
    assert first.verifier not in repr(first)


@pytest.mark.parametrize("bad", ["a" * 42, "a" * 129, "a" * 42 + "!", "a" * 42 + "é"])
def test_a_verifier_outside_the_rfc_is_refused(bad):
    with pytest.raises(ValueError):
        rfc7636.challenge(bad)


# -- RFC 8252 loopback listener -------------------------------------------------------------


def callback(listener: rfc8252.Listener, **params: str) -> str:
    return f"{listener.redirect_uri}?{urlencode(params)}"


def answering(listener: rfc8252.Listener, **params: str) -> str:
    """The listener's start link, for an identity provider that answers at once with
    ``params``: the start link redirects straight to the callback carrying them."""
    return listener.start_link(callback(listener, **params))


class Waiting:
    """``listener.wait`` in a thread, so a test can send requests one after another, in an
    order it chooses; ``outcome()`` is what the wait returned or raised."""

    def __init__(self, listener: rfc8252.Listener, state: str, **kwargs):
        self._outcome: list[object] = []
        self._thread = threading.Thread(target=self._wait, args=(listener, state), kwargs=kwargs,
                                        daemon=True)
        self._thread.start()

    def _wait(self, listener, state, **kwargs) -> None:
        try:
            self._outcome.append(listener.wait(state, **kwargs))
        except rfc8252.RedirectError as e:
            self._outcome.append(e)

    def outcome(self) -> object:
        self._thread.join(timeout=20)
        assert not self._thread.is_alive()
        return self._outcome[0]


def test_the_listener_takes_the_code_for_its_state_and_closes():
    with rfc8252.Listener() as listener:
        assert listener.redirect_uri == f"http://127.0.0.1:{listener.port}/callback"
        assert listener._server.server_address[0] == "127.0.0.1"
        link = answering(listener, code="c-1", state="s-1")
        assert link.startswith(f"http://127.0.0.1:{listener.port}/start/")  # same host literal
        person = HttpBrowser()
        person.visit(f"http://127.0.0.1:{listener.port}/favicon.ico", link)
        assert listener.wait("s-1", timeout=10) == "c-1"
        person.join()
    assert person.pages[0][0] == 404  # another path: answered, and the wait went on
    assert person.pages[1][0] == 200 and "Signed in" in person.pages[1][1]
    assert [status for status, _ in person.hops[1:]] == [302, 200]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", listener.port), 1):
        pass  # one-shot: nothing listens any more


def test_the_start_link_sets_a_cookie_the_redirect_must_bring_back():
    with rfc8252.Listener() as listener:
        link = answering(listener, code="c-1", state="s-1")
        waiting = Waiting(listener, "s-1", timeout=10)
        person = HttpBrowser()
        first = person.session.get(link, allow_redirects=False, timeout=10)
        back = person.follow(first.headers["Location"])
        assert waiting.outcome() == "c-1" and back.status_code == 200
    cookie = first.headers["Set-Cookie"]
    name, value = cookie.split(";")[0].split("=", 1)
    assert name == f"git-credential-copilot-{listener.port}" and len(value) >= 40
    attributes = {part.strip() for part in cookie.split(";")[1:]}
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= attributes
    assert first.status_code == 302 and first.headers["Location"].startswith(
        listener.redirect_uri)
    assert first.headers["Cache-Control"] == "no-store"
    assert "state" not in link and "code" not in link  # nothing of the sign-in in the link
    assert back.request.headers["Cookie"] == f"{name}={value}"


@pytest.mark.parametrize("forged", [{"state": "forged"}, {}, {"state": ""}],
                         ids=["wrong", "missing", "empty"])
def test_a_callback_with_a_forged_state_gets_400_and_the_wait_goes_on(forged):
    """Issue: one GET /callback?state=x from any process ended the sign-in."""
    with rfc8252.Listener() as listener:
        waiting = Waiting(listener, "s-1", timeout=10)
        forgery = plain_session().get(callback(listener, code="c-evil", **forged), timeout=10)
        person = HttpBrowser().follow(answering(listener, code="c-1", state="s-1"))
        assert waiting.outcome() == "c-1"
    assert forgery.status_code == 400 and "still waiting" in forgery.text
    assert person.status_code == 200 and "Signed in" in person.text


def test_a_second_use_of_the_start_link_ends_the_sign_in():
    """Someone who read the link (from the browser's command line) used it first: the
    person's browser is then the second, and the sign-in stops."""
    with rfc8252.Listener() as listener:
        link = answering(listener, code="c-1", state="s-1")
        waiting = Waiting(listener, "s-1", timeout=10)
        first = plain_session().get(link, allow_redirects=False, timeout=10)
        person = HttpBrowser().follow(link)
        failure = waiting.outcome()
    assert first.status_code == 302
    assert isinstance(failure, rfc8252.Interfered)
    assert str(failure).startswith("another process interfered: the sign-in link was opened "
                                   "a second time") and "\n" not in str(failure)
    assert "nothing was stored" in str(failure)
    assert person.status_code == 400 and "already used" in person.text


def test_the_state_without_the_cookie_ends_the_sign_in():
    """Whoever brings the right state but not the cookie is not the browser that opened the
    link: someone else got the state, and the code may be theirs."""
    with rfc8252.Listener() as listener:
        link = answering(listener, code="c-1", state="s-1")
        waiting = Waiting(listener, "s-1", timeout=10)
        person = HttpBrowser()
        to_callback = person.session.get(link, allow_redirects=False, timeout=10)
        cookieless = plain_session().get(to_callback.headers["Location"], timeout=10)
        failure = waiting.outcome()  # the person's own answer, later, finds nobody waiting
    assert cookieless.status_code == 400 and "Sign-in stopped" in cookieless.text
    assert isinstance(failure, rfc8252.Interfered) and "\n" not in str(failure)
    assert "without the cookie its link set" in str(failure)


def test_an_error_redirect_is_refused_with_the_providers_words():
    with rfc8252.Listener() as listener:
        HttpBrowser().visit(answering(listener, error="access_denied",
                                      error_description="The user\ndeclined", state="s-1"))
        with pytest.raises(rfc8252.Refused) as info:
            listener.wait("s-1", timeout=10)
    assert info.value.error == "access_denied"
    assert str(info.value) == ("you declined the sign-in (access_denied: The user declined); "
                               "nothing was stored")


# -- who is at the other end: Linux's socket table --------------------------------------------


def linux_table() -> str:
    if not Path(rfc8252.TCP_TABLE).exists():
        pytest.skip("no /proc/net/tcp here: the start link and its cookie are the defence")
    return rfc8252.TCP_TABLE


def test_the_socket_table_names_the_account_at_the_other_end():
    table = linux_table()
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as peer:
        ours, _ = server.accept()
        with ours:
            assert rfc8252.socket_owner(table, peer.getsockname(), ours.getsockname()) == \
                os.geteuid()
            assert rfc8252.peer_trusted(ours.getsockname(), peer.getsockname()) == (
                True, os.geteuid())
            gone = ours.getpeername()
            peer.close()  # no process holds it now: whoever sent a request is gone
            assert rfc8252.socket_owner(table, gone, ours.getsockname()) is None
            assert rfc8252.peer_trusted(ours.getsockname(), gone)[0] is False


def test_without_a_socket_table_every_peer_is_trusted():
    assert rfc8252.peer_trusted(("127.0.0.1", 1), ("127.0.0.1", 2),
                                table="/nonexistent/tcp") == (True, None)


def test_a_request_whose_sender_has_gone_does_not_spend_the_start_link():
    """Sent and closed at once: the socket table no longer says whose it was (another
    account could hide that way), so it is refused, and the link still works."""
    linux_table()
    notices: list[str] = []
    with rfc8252.Listener() as listener:
        link = answering(listener, code="c-1", state="s-1")
        with socket.create_connection(("127.0.0.1", listener.port)) as gone:
            gone.sendall(f"GET {urlsplit(link).path} HTTP/1.0\r\n\r\n".encode())
        waiting = Waiting(listener, "s-1", timeout=10, notice=notices.append)
        person = HttpBrowser().follow(link)  # served after the one that has gone
        assert waiting.outcome() == "c-1"
    assert person.status_code == 200
    assert notices == ["refused a request to the sign-in listener from a connection no process "
                       "on this machine holds; still waiting for your browser"]


GET = r"""
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for url in sys.argv[1:]:
    try:
        print(opener.open(url, timeout=10).status, flush=True)
    except urllib.error.HTTPError as e:
        print(e.code, flush=True)
"""


def test_another_account_is_refused_before_it_can_use_anything():
    linux_table()
    notices: list[str] = []
    with rfc8252.Listener() as listener:
        link = answering(listener, code="c-1", state="s-1")
        waiting = Waiting(listener, "s-1", timeout=15, notice=notices.append)
        other = subprocess.run(
            ["/usr/bin/python3", "-I", "-c", GET, link,
             callback(listener, code="c-2", state="s-1")],
            capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
            **other_account())
        person = HttpBrowser().follow(link)  # the start link was not spent
        assert waiting.outcome() == "c-1"
    assert other.stdout.split() == ["403", "403"], other.stderr
    assert person.status_code == 200
    nobody = other_account()["user"]
    assert set(notices) == {f"refused a request to the sign-in listener from another account "
                            f"on this machine (uid {nobody}); still waiting for your browser"}


def other_account() -> dict:
    """Popen arguments that run a process as another account (nobody): needs root."""
    import pwd

    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("this test plays another account and must run as root in CI")
        pytest.skip("playing another account (nobody) needs root; CI runs this test")
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": [], "cwd": "/"}


def scripted_clock(*times: float):
    """A clock that reads ``times`` in turn, then the last one for ever: a wait's deadline
    passes without the test waiting it out (the listener still polls its real socket for
    ``min(1, left)`` seconds a turn, so the times left are kept small)."""
    readings = iter(times)
    last = [times[0]]

    def clock() -> float:
        last[0] = next(readings, last[0])
        return last[0]

    return clock


def test_the_wait_is_bounded_and_counts_down():
    ticks: list[float] = []
    started = time.monotonic()
    with rfc8252.Listener() as listener, pytest.raises(rfc8252.TimedOut) as info:
        listener.wait("s-1", timeout=1.5, tick=ticks.append,
                      clock=scripted_clock(0, 1.3, 1.4, 1.6))
    assert time.monotonic() - started < 5
    assert "within 2 s" in str(info.value) and "nothing was stored" in str(info.value)
    assert len(ticks) >= 2 and ticks == sorted(ticks, reverse=True)


def test_a_client_trickling_its_request_cannot_hold_the_listener_past_its_deadline(monkeypatch):
    """Each read is within the socket timeout, so only a cut-off per connection bounds it."""
    monkeypatch.setattr(rfc8252, "CONNECTION_TIMEOUT", 0.5)
    stop = threading.Event()
    with rfc8252.Listener() as listener:
        def trickle() -> None:
            with socket.create_connection(("127.0.0.1", listener.port)) as conn:
                for byte in b"GET /callback?state=s-1&code=c HTTP/1.1\r\n" * 20:
                    if stop.wait(0.05):
                        return
                    try:
                        conn.send(bytes([byte]))
                    except OSError:
                        return

        threading.Thread(target=trickle, daemon=True).start()
        started = time.monotonic()
        try:
            with pytest.raises(rfc8252.TimedOut):
                listener.wait("s-1", timeout=0.3)
        finally:
            stop.set()
        assert time.monotonic() - started < 3  # timeout + one connection's cut-off, not 40 s


def test_a_configured_port_in_use_says_which_and_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(rfc8252.PortInUse) as info:
            rfc8252.Listener(port)
    assert f"127.0.0.1:{port}" in str(info.value) and "redirect_port" in str(info.value)


def test_a_configured_port_is_used():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with rfc8252.Listener(port) as listener:
        assert listener.redirect_uri == f"http://127.0.0.1:{port}/callback"


# -- opening the browser -------------------------------------------------------------------


def test_a_webbrowser_module_planted_in_the_repository_never_runs(tmp_path, monkeypatch):
    """git runs helpers inside the repository; `python -m webbrowser` there would import a
    webbrowser.py committed at its top instead of the standard library's."""
    import time

    from helper.oauth2 import browser

    repo = tmp_path / "repo"
    repo.mkdir()
    planted = tmp_path / "planted-ran"
    (repo / "webbrowser.py").write_text(f"open({str(planted)!r}, 'w').close()\n")
    opened = tmp_path / "browser-opened"
    fake = tmp_path / "fake-browser"
    fake.write_text(f"#!/bin/sh\ntouch {opened}\n")
    fake.chmod(0o755)
    monkeypatch.chdir(repo)
    browser.open_browser("https://idp.example/authorize", {"BROWSER": str(fake),
                                                           "PATH": os.environ["PATH"]})
    wait_until(lambda: opened.exists() or planted.exists(), 20)  # the child's side effect
    assert opened.exists() and not planted.exists()


# -- choosing the flow -----------------------------------------------------------------------

AUTH, DEVICE = "https://idp.example/authorize", "https://idp.example/device"


@pytest.mark.parametrize("flow, auth, device, env, platform, want", [
    ("auto", AUTH, DEVICE, {}, "linux", "device"),  # no display: a browser cannot open
    ("auto", AUTH, DEVICE, {"DISPLAY": ":0"}, "linux", "browser"),
    ("auto", AUTH, DEVICE, {"WAYLAND_DISPLAY": "wayland-0"}, "linux", "browser"),
    ("auto", AUTH, DEVICE, {"BROWSER": "w3m"}, "linux", "browser"),
    ("auto", AUTH, DEVICE, {}, "darwin", "browser"),
    ("auto", AUTH, DEVICE, {}, "win32", "browser"),
    ("auto", "", DEVICE, {"DISPLAY": ":0"}, "linux", "device"),  # no authorization endpoint
    ("auto", AUTH, "", {}, "linux", "browser"),  # no device flow: the link, for copy-paste
    ("device", AUTH, DEVICE, {"DISPLAY": ":0"}, "linux", "device"),
    ("browser", AUTH, DEVICE, {}, "linux", "browser"),
])
def test_choose(flow, auth, device, env, platform, want):
    assert browser.choose(flow, auth, device, env, platform) == want


# -- the flow in process, an HTTP client as the browser ----------------------------------------


@pytest.fixture
def client(idp) -> browser.Client:
    return browser.Client("helper-tests", f"{idp.url}/token", f"{idp.url}/authorize",
                          "openid offline_access")


def sign_in(idp, client, person, flow="browser", env=None, timeout=10.0, device_url=None):
    transport = Transport(timeout=2, budget=2)
    err = io.StringIO()
    device_url = f"{idp.url}/device" if device_url is None else device_url

    def device():
        code = rfc8628.request_code(transport, device_url, client.client_id)
        return rfc8628.poll(transport, client.token_endpoint, client.client_id, code,
                            wait=lambda s: None)

    try:
        answer = browser.sign_in(flow, client, device_url, device, transport, Console(err),
                                 "the fake IdP", env or {}, platform="linux", opener=person,
                                 timeout=timeout)
    finally:
        if isinstance(person, HttpBrowser):
            person.join()
    return answer, err.getvalue()


def test_sign_in_sends_pkce_s256_and_redeems_the_code_with_the_verifier(idp, client):
    person = HttpBrowser()
    answer, err = sign_in(idp, client, person)
    assert answer.refresh_token == idp.families[0].current
    assert idp.code_redemptions == 1 and idp.counts["/authorize"] == 1
    sent = idp.authorizations[0]
    assert sent["response_type"] == "code" and sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"].startswith("http://127.0.0.1:")
    assert sent["scope"] == "openid offline_access" and len(sent["state"]) >= 40
    assert "code_verifier" not in sent
    assert person.pages == [(200, person.pages[0][1])] and "Signed in" in person.pages[0][1]
    assert f"  {person.opened[0]}" in err.splitlines()  # the link, for copy-paste
    # The browser is opened on the start link: nothing of the sign-in is in its command line.
    link = urlsplit(person.opened[0])
    assert (link.hostname, link.path[:7], link.query) == ("127.0.0.1", "/start/", "")
    assert urlsplit(sent["redirect_uri"]).netloc == link.netloc  # the cookie comes back
    assert sent["state"] not in err and sent["code_challenge"] not in err
    assert [status for status, _ in person.hops] == [302, 302, 200]


def test_another_process_that_uses_the_start_link_first_stops_the_sign_in(idp, client):
    """It read the link (any account can read the browser's command line) and used it
    before the person's browser did: the sign-in stops, whatever it does next."""
    attacker, person, taken = plain_session(), HttpBrowser(), []
    attacker.get(f"{idp.url}/login?user=mallory", timeout=10)

    def race(url: str, env=None) -> None:
        def first_then_person() -> None:
            taken.append(attacker.get(url, allow_redirects=False, timeout=10))
            person(url)
        threading.Thread(target=first_then_person, daemon=True).start()

    with pytest.raises(rfc8252.Interfered) as info:
        sign_in(idp, client, race)
    person.join()
    assert str(info.value).startswith("another process interfered")
    assert taken[0].status_code == 302 and person.pages[0][0] == 400
    # It goes on to the identity provider as itself; the listener has closed.
    with pytest.raises(requests.ConnectionError):
        attacker.get(taken[0].headers["Location"], timeout=10)
    assert idp.authorized_by["mallory"] == 1 and idp.redemptions_by["mallory"] == 0
    assert idp.counts["/token"] == 0 and idp.families == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_wait_counts_down_and_clears_its_line(idp, client, monkeypatch):
    idp.consent = "hold"
    out = Terminal()
    clock = scripted_clock(0, 0.5, 2.45, 2.48, 2.6)  # 2 s left, then 0 s twice, then over
    wait = rfc8252.Listener.wait
    monkeypatch.setattr(rfc8252.Listener, "wait",
                        lambda self, *args, **kwargs: wait(self, *args, clock=clock, **kwargs))
    with pytest.raises(rfc8252.TimedOut):
        browser.authorization_code(client, Transport(timeout=2, budget=2), Console(out), "x", {},
                                   opener=HttpBrowser(), timeout=2.5)
    ticks = re.findall(r"\r  waiting for the browser\.\.\. (\d+:\d\d) left", out.getvalue())
    assert ticks[0] == "0:02" and ticks[-1] == "0:00" and len(ticks) >= 3
    assert out.getvalue().endswith("\r\x1b[K")


def test_not_on_a_terminal_there_is_no_countdown(idp, client):
    idp.consent = "hold"
    out = io.StringIO()
    with pytest.raises(rfc8252.TimedOut):
        browser.authorization_code(client, Transport(timeout=2, budget=2), Console(out), "x", {},
                                   opener=HttpBrowser(), timeout=0.2)
    assert "waiting" not in out.getvalue() and "\r" not in out.getvalue()


def test_denied_consent_ends_with_one_line_and_no_token(idp, client):
    idp.consent = "deny"
    with pytest.raises(rfc8252.Refused) as info:
        sign_in(idp, client, HttpBrowser())
    assert "declined" in str(info.value) and "\n" not in str(info.value)
    assert idp.counts["/token"] == 0 and idp.families == []


def test_a_forged_callback_gets_400_and_the_sign_in_goes_on(idp, client):
    """Any local process can reach the listener (its port is listed in /proc/net/tcp): a
    callback with a wrong or no state is refused with a page, and must not end the sign-in,
    or one request from anyone would."""
    intruder, answers = plain_session(), []

    def intrude(url: str) -> str:
        for forged in (with_query(url, state="forged"), without(url, "state")):
            answers.append(intruder.get(forged, timeout=10).status_code)
        return url

    person = HttpBrowser(rewrite=on_callback(intrude))
    answer, _ = sign_in(idp, client, person)
    assert answers == [400, 400]
    assert person.pages[-1][0] == 200 and "Signed in" in person.pages[-1][1]
    assert answer.refresh_token == idp.families[0].current
    assert idp.counts["/authorize"] == 1 and idp.code_redemptions == 1


def test_a_wrong_verifier_is_refused_by_the_server(idp, client):
    """A challenge swapped on the way (as an attacker would) makes our verifier wrong."""
    swap = HttpBrowser(rewrite=on_authorization(
        lambda url: with_query(url, code_challenge=s256(RFC_VERIFIER))))
    with pytest.raises(browser.CodeRefused) as info:
        sign_in(idp, client, swap)
    assert "PKCE verification failed" in str(info.value) and "\n" not in str(info.value)
    assert "nothing was stored" in str(info.value)
    assert idp.code_redemptions == 0 and idp.families == []


def test_a_person_who_never_comes_back_times_out(idp, client):
    idp.consent = "hold"
    person = HttpBrowser()
    with pytest.raises(rfc8252.TimedOut):
        # 2 s: the person's browser (a thread) goes through the listener, which closes at the
        # timeout; with 0.3 s, a visit 0.35 s late (a busy machine's, injected) never got there
        sign_in(idp, client, person, timeout=2)
    assert idp.counts["/authorize"] == 1 and idp.counts["/token"] == 0


def test_auto_falls_back_to_the_browser_when_the_device_flow_is_refused(idp, client):
    idp.device_flow = "refused"
    person = HttpBrowser()
    answer, err = sign_in(idp, client, person, flow="auto")  # no display: device first
    assert idp.counts["/device"] == 1 and idp.code_redemptions == 1
    assert "refuses the device flow (unauthorized_client)" in err
    assert "through the browser instead" in err


def test_auto_with_a_browser_never_starts_a_device_flow(idp, client):
    sign_in(idp, client, HttpBrowser(), flow="auto", env={"DISPLAY": ":0"})
    assert idp.counts["/device"] == 0 and idp.code_redemptions == 1


def test_flow_device_does_not_fall_back(idp, client):
    idp.device_flow = "refused"
    with pytest.raises(rfc6749.UnauthorizedClient):
        sign_in(idp, client, HttpBrowser(), flow="device")
    assert idp.counts["/authorize"] == 0


def test_no_authorization_endpoint_for_flow_browser_says_what_to_set(idp):
    bare = browser.Client("helper-tests", f"{idp.url}/token", "")
    with pytest.raises(browser.NoFlow) as info:
        sign_in(idp, bare, None)
    assert "authorization_url" in str(info.value)


def test_audience_and_an_existing_query_are_kept(client):
    pkce = rfc7636.new()
    url = browser.authorization_url(
        browser.Client("id", "https://t", "https://idp.example/authorize?tenant=x", "openid",
                       audience="https://api.example"), "http://127.0.0.1:1/callback", "st", pkce)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["tenant"] == "x" and query["audience"] == "https://api.example"
    assert query["code_challenge"] == pkce.challenge and pkce.verifier not in url


# -- the installed executable, with a $BROWSER script ----------------------------------------

FAKE_BROWSER = """\
#!{python}
# A browser for tests: note each start, then "click" through the sign-in page, keeping
# cookies and following redirects as a browser does. FAKE_BROWSER_MODE tampers on the way:
# "forge" first sends the listener a callback with another state, "swap" changes the PKCE
# challenge sent to the identity provider. Each answer's status is noted in the log.
import base64, hashlib, os, sys, time, urllib.error, urllib.parse, urllib.request

url = sys.argv[1]
log = open(os.environ["FAKE_BROWSER_LOG"], "a", buffering=1)
log.write(url + "\\n")
gate = os.environ.get("FAKE_BROWSER_GATE")  # wait for the test to say "click now"
for _ in range(600):
    if not gate or os.path.exists(gate):
        break
    time.sleep(0.05)
mode = os.environ.get("FAKE_BROWSER_MODE", "click")


def change(url, **params):
    parts = urllib.parse.urlsplit(url)
    query = {{**dict(urllib.parse.parse_qsl(parts.query)), **params}}
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def tamper(url):
    path = urllib.parse.urlsplit(url).path
    if mode == "forge" and path == "/callback":
        try:
            opener.open(change(url, state="forged"), timeout=20).read()
            log.write("forged: 200\\n")
        except urllib.error.HTTPError as e:
            log.write(f"forged: {{e.code}}\\n")
    if mode == "swap" and path == "/authorize":
        digest = hashlib.sha256(b"{verifier}").digest()
        return change(url, code_challenge=base64.urlsafe_b64encode(digest).rstrip(b"=").decode())
    return url


class Tamper(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return super().redirect_request(req, fp, code, msg, headers, tamper(newurl))


opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}), Tamper(),
                                     urllib.request.HTTPCookieProcessor())
try:
    answer = opener.open(tamper(url), timeout=20)
    answer.read()
    log.write(f"page: {{answer.status}}\\n")
except urllib.error.HTTPError as e:
    log.write(f"page: {{e.code}}\\n")
except Exception as e:
    print("fake browser:", e, file=sys.stderr)
"""


def fake_browser(root: Path) -> dict[str, str]:
    """The environment that makes the helper's browser this script; its log lists starts."""
    script = root / "fake-browser"
    script.write_text(FAKE_BROWSER.format(python=sys.executable, verifier=RFC_VERIFIER))
    script.chmod(0o755)
    return {"BROWSER": str(script), "FAKE_BROWSER_LOG": str(root / "browser.log")}


def browser_log(root: Path) -> list[str]:
    log = root / "browser.log"
    return log.read_text().splitlines() if log.exists() else []


def browser_log_with_its_page(root: Path, seconds: float = 30) -> list[str]:
    """The log once the fake browser has logged the page it was shown: it runs detached,
    so the helper can end before that line is written (a bounded wait)."""
    logged = wait_until(
        lambda: any(line.startswith("page: ") for line in browser_log(root)), seconds)
    assert logged, f"the browser logged no page in {seconds} s: {browser_log(root)}"
    return browser_log(root)


def browser_starts(root: Path) -> list[str]:
    return [line for line in browser_log(root) if line.startswith("http")]


@pytest.fixture
def blocked(corp):
    """The fake IdP with the device flow refused, and a $BROWSER that clicks through."""
    require_executable()
    corp.server.device_flow = "refused"
    corp.env.update(fake_browser(corp.root))
    return corp


def test_login_through_the_browser_then_get_and_rotation_safe_refresh(blocked):
    box = blocked
    done = box.run(*CORP, "login")
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert len(browser_starts(box.root)) == 1 and box.server.counts["/device"] == 0
    stored = box.stored("corp")
    assert stored["refresh_token"] == box.server.families[0].current
    got = box.run(*CORP, "get", input=box.credential())
    assert got.returncode == 0 and got.pairs()["password"] in box.server.access_tokens
    expire_access_token(box)
    again = box.run(*CORP, "get", input=box.credential())
    assert again.returncode == 0 and again.pairs()["password"] != got.pairs()["password"]
    assert (box.server.refreshes, box.server.replays) == (1, 0)
    assert box.stored("corp")["refresh_token"] not in ("", stored["refresh_token"])


def test_login_is_a_clean_grant(blocked):
    box = blocked
    assert box.run(*CORP, "login").returncode == 0
    first = box.stored("corp")["refresh_token"]
    assert box.run(*CORP, "login").returncode == 0
    assert box.stored("corp")["refresh_token"] not in ("", first)
    assert box.server.code_redemptions == 2 and box.server.refreshes == 0


@pytest.mark.slow  # a crowd of processes
def test_ten_concurrent_gets_open_one_tab(blocked):
    """Nine callers wait on the profile lock while the first one's browser is open; then
    all ten hand out the one token that sign-in produced."""
    box = blocked
    gate = box.root / "click-now"
    env = {"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always", "FAKE_BROWSER_GATE": str(gate)}
    data = box.credential().encode()
    callers = [Watched(box.start(*CORP, "get", env=env), stdin=data) for _ in range(10)]
    seen = [c.wait_for_line("to sign in to|waiting for another", timeout=60).group(0)
            for c in callers]
    assert sorted(seen) == ["to sign in to"] + ["waiting for another"] * 9
    gate.touch()
    answers = [c.finish(timeout=120) for c in callers]
    assert [code for code, _, _ in answers] == [0] * 10, [err for _, _, err in answers]
    assert len({out for _, out, _ in answers}) == 1
    assert len(browser_starts(box.root)) == 1
    assert box.server.counts["/authorize"] == 1 and box.server.code_redemptions == 1
    for _, _, err in answers:
        box.check_no_secret_leaked(err, "stderr")


@pytest.mark.parametrize("mode, consent, words", [
    ("click", "deny", "you declined the sign-in (access_denied"),
    ("swap", "approve", "PKCE verification failed"),
])
def test_a_failed_sign_in_is_one_line_and_stores_nothing(blocked, mode, consent, words):
    box = blocked
    box.server.consent = consent
    failed = box.run(*CORP, "login", env={"FAKE_BROWSER_MODE": mode})
    assert failed.returncode == 1 and failed.stdout == ""
    last = failed.stderr.splitlines()[-1]
    assert last.startswith("git-credential-copilot: ") and words in last, failed.stderr
    assert "nothing was stored" in last
    assert box.stored("corp") == {} and "token" not in box.state("corp")
    assert box.server.code_redemptions == 0


def test_a_forged_callback_is_refused_and_the_browser_still_signs_in(blocked):
    box = blocked
    done = box.run(*CORP, "login", env={"FAKE_BROWSER_MODE": "forge"})
    assert done.returncode == 0, done.stderr
    assert browser_log_with_its_page(box.root)[1:] == ["forged: 400", "page: 200"]
    assert box.stored("corp")["refresh_token"] == box.server.families[0].current
    assert box.server.code_redemptions == 1


def test_a_process_that_uses_the_start_link_first_fails_the_login_and_stores_nothing(blocked):
    """It read the link and used it before the person's browser did: the login fails with
    one line, and nothing is redeemed or stored."""
    box = blocked
    gate = box.root / "click-now"
    helper = Watched(box.start(*CORP, "login", env={"FAKE_BROWSER_GATE": str(gate)}))
    link = helper.wait_for_line(r"^  (http://127\.0\.0\.1:\d+/start/\S+)$").group(1)
    attacker = plain_session()
    attacker.get(f"{box.server.url}/login?user=mallory", timeout=10)
    first = attacker.get(link, allow_redirects=False, timeout=10)
    gate.touch()  # now the person's browser clicks: the second use
    code, out, err = helper.finish(timeout=60)
    assert first.status_code == 302
    assert code == 1 and out == ""
    last = err.splitlines()[-1]
    assert last.startswith("git-credential-copilot: another process interfered: the sign-in "
                           "link was opened a second time") and "nothing was stored" in last
    assert browser_log_with_its_page(box.root)[-1] == "page: 400"
    assert box.stored("corp") == {} and box.server.counts["/token"] == 0
    box.check_no_secret_leaked(err, "stderr")


ATTACKER = r"""
# Another account on this machine. It watches the command lines of the helper's children
# (any account can read /proc/PID/cmdline; the helper's pid only keeps it off other tests'
# processes) for a link to 127.0.0.1, signs in at the identity provider as itself, and
# follows the link and its redirects as a browser would, trying to be first back.
import http.cookiejar, os, sys, time, urllib.error, urllib.request

idp, helper = sys.argv[1], sys.argv[2]


def descends(pid):
    for _ in range(20):
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = f.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            return False
        if pid == helper:
            return True
        if pid in ("0", "1"):
            return False
    return False


def link():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for arg in args:
            if arg.startswith("http://127.0.0.1:") and descends(pid):
                return arg
    return None


deadline, found = time.monotonic() + 30, None
while found is None and time.monotonic() < deadline:
    found = link()
print("read", found, flush=True)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                     urllib.request.HTTPCookieProcessor())
opener.open(idp + "/login?user=mallory", timeout=10).read()
try:
    answer = opener.open(found, timeout=10)
    print("answer", answer.status, answer.geturl(), flush=True)
except urllib.error.HTTPError as e:
    print("answer", e.code, e.geturl(), flush=True)
"""


def test_another_account_reading_the_browsers_command_line_cannot_sign_you_in(blocked):
    """Issue: the link the browser is started with is in its command line, which every
    account can read. Another account races the person's browser with it, signed in at the
    identity provider as itself: nothing of theirs may be redeemed or stored."""
    box = blocked
    gate = box.root / "click-now"
    helper = Watched(box.start(*CORP, "login", env={"FAKE_BROWSER_GATE": str(gate)}))
    attacker = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", ATTACKER, box.server.url, str(helper.proc.pid)],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
        **other_account())
    assert attacker.stdout.startswith("read http://127.0.0.1:"), attacker.stderr
    gate.touch()  # now the person's browser clicks
    code, _, err = helper.finish(timeout=60)
    assert box.server.redemptions_by["mallory"] == 0 and box.server.authorized_by["mallory"] == 0
    assert code == 0, err
    assert box.server.redemptions_by["alice"] == 1
    family, = box.server.families
    assert family.user == "alice" and box.stored("corp")["refresh_token"] == family.current
    assert "another account" in err  # the person is told someone tried


def test_a_timed_out_sign_in_stores_nothing(corp, monkeypatch):
    """In process (the wait is shortened, its clock scripted); the browser is still the real
    $BROWSER script."""
    corp.server.consent = "hold"
    monkeypatch.setattr(browser, "TIMEOUT", 1.0)
    wait, clock = rfc8252.Listener.wait, scripted_clock(0, 0.9, 1.1)  # 0.1 s left, then over
    monkeypatch.setattr(rfc8252.Listener, "wait",
                        lambda self, *args, **kwargs: wait(self, *args, clock=clock, **kwargs))
    failed = corp.call(*CORP, "login", env=fake_browser(corp.root))
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == (
        "git-credential-copilot: no answer from the browser within 1 s; nothing was stored; "
        "run the login again")
    assert corp.stored("corp") == {} and corp.server.counts["/token"] == 0


def test_config_keys_for_the_browser(corp):
    require_executable()
    corp.write_config(corp.config_path.read_text() + textwrap.dedent("""\
        flow = "sometimes"
        """))
    bad = corp.run(*CORP, "status")
    assert bad.returncode == 2 and "flow: must be one of auto, browser, device" in bad.stderr
    corp.write_config(corp.config_path.read_text().replace('flow = "sometimes"',
                                                           "redirect_port = 70000"))
    bad = corp.run(*CORP, "status")
    assert bad.returncode == 2 and "redirect_port: must be a port number" in bad.stderr


def test_explicit_authorization_url_and_port_without_discovery(corp, monkeypatch):
    require_executable()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = corp.server.url
    corp.write_config(corp.config_path.read_text().replace(f'issuer = "{url}"', textwrap.dedent(
        f"""\
        authorization_url = "{url}/authorize"
        token_url = "{url}/token"
        flow = "browser"
        redirect_port = {port}""")))
    corp.env.update(fake_browser(corp.root))
    done = corp.run(*CORP, "login")
    assert done.returncode == 0, done.stderr
    assert corp.server.counts["/.well-known/openid-configuration"] == 0
    assert corp.server.authorizations[0]["redirect_uri"] == f"http://127.0.0.1:{port}/callback"


def test_discovery_without_a_device_endpoint_signs_in_through_the_browser(blocked):
    box = blocked
    box.server.device_flow = "absent"
    assert box.run(*CORP, "login").returncode == 0
    assert box.server.counts["/device"] == 0 and box.server.code_redemptions == 1
    cached = json.loads((box.root / "cache" / "git-credential-copilot" /
                         "discovery-corp.json").read_text())
    assert cached["authorization_endpoint"] == f"{box.server.url}/authorize"
    assert cached["device_authorization_endpoint"] == ""


@responses.activate
def test_discovery_needs_an_endpoint_to_sign_in_at():
    from helper.oauth2 import rfc8414

    doc = {"issuer": "https://idp.example", "token_endpoint": "https://idp.example/token"}
    openid, oauth = rfc8414.well_known_urls("https://idp.example")
    responses.get(openid, json=doc)  # then, on the next fetch, the same with a sign-in endpoint
    responses.get(openid, json={**doc, "authorization_endpoint": "https://idp.example/a"})
    responses.get(oauth, status=404)
    with pytest.raises(rfc8414.DiscoveryError, match="device_authorization_endpoint"):
        rfc8414.fetch(Transport(), "https://idp.example")
    found = rfc8414.fetch(Transport(), "https://idp.example")
    assert found == rfc8414.Endpoints("", "https://idp.example/token", "https://idp.example/a")
