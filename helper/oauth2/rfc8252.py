"""The loopback redirect of OAuth 2.0 for Native Apps (RFC 8252 §7.3), bound to the browser.

Spec: https://www.rfc-editor.org/rfc/rfc8252#section-7.3 - the app listens on the loopback
interface on a port of its choosing and names ``http://127.0.0.1:{port}/{path}`` as its
redirect URI; §8.3 prefers the IP literal to ``localhost`` (no name resolution, never another
interface). The authorization response arrives as query parameters (RFC 6749 §4.1.2).

Every account on the machine can reach the listener (its port is listed in /proc/net/tcp)
and read the command line the browser was started with (/proc/PID/cmdline). So:

- The browser is started on a one-time *start link* on the listener, never on the
  authorization URL: the ``state`` and the PKCE challenge are not in any command line. The
  start link sets a random cookie (HttpOnly, SameSite=Lax, so a top-level navigation back
  from the identity provider carries it) and redirects to the authorization URL. The
  redirect is accepted only with that cookie: the ``state`` is bound to the browser that
  opened the link (RFC 9700 §4.7.1, https://www.rfc-editor.org/rfc/rfc9700#section-4.7.1).
  A second use of the start link, or the right ``state`` without the cookie, means another
  process got in: the sign-in ends and nothing is stored.
- Where the kernel says who owns each TCP socket (Linux's /proc/net/tcp), a request whose
  other end is not a live socket of this account (or root) is refused with 403 before it can
  use anything: another account cannot even spend the start link.
- A redirect with a wrong or no ``state`` is answered 400 and the wait goes on: one request
  from anyone must not end a sign-in.

The listener is one-shot: it answers requests until the sign-in's redirect arrives, shows
the browser a short page, and closes. Every wait is bounded: the whole sign-in by
``timeout``, each connection by a cut-off, so a client that connects and says nothing cannot
hold it.
"""

from __future__ import annotations

import hmac
import html
import secrets
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from helper import osdeps
from helper.errors import one_line
from helper.oauth2.errors import OAuth2Error

HOST = "127.0.0.1"
PATH = "/callback"
START = "/start/"  # + a random part: the one-time link the browser is opened on
COOKIE = "git-credential-copilot-"  # + the port: sign-ins on other ports keep their own
COOKIE_LIFETIME = 3600  # seconds; the cookie is worthless once its sign-in has ended
CONNECTION_TIMEOUT = 5.0  # seconds one browser connection may take, in all, to be answered
TCP_TABLE = "/proc/net/tcp"  # Linux: every IPv4 TCP socket with the uid that owns it


class RedirectError(OAuth2Error):
    """The sign-in ended at the loopback listener without a usable code."""


class Interfered(RedirectError):
    """Another process used this sign-in's start link, or its ``state`` without the cookie."""


class Refused(RedirectError):
    """The authorization server redirected with ``error`` (RFC 6749 §4.1.2.1)."""

    def __init__(self, message: str, error: str):
        super().__init__(message)
        self.error = error


class TimedOut(RedirectError):
    """No redirect arrived in time."""


class PortInUse(RedirectError):
    """The configured redirect port cannot be bound."""


class Listener:
    """A one-shot HTTP listener on 127.0.0.1: the start link, then the authorization response."""

    def __init__(self, port: int = 0, path: str = PATH):
        self.path = path
        self._result: dict[str, str] | None = None
        self._failure: RedirectError | None = None
        self._expected_state = ""
        self._target = ""  # where the start link redirects: the authorization URL
        self._start_used = False
        self._cookie = secrets.token_urlsafe(32)
        self._start_path = START + secrets.token_urlsafe(32)
        self._notice: Callable[[str], None] = lambda line: None
        try:
            self._server = _Server((HOST, port), self._handler_class())
        except OSError as e:
            raise PortInUse(
                f"cannot listen on {HOST}:{port} for the sign-in redirect ({e.strerror}); "
                "free that port or change redirect_port"
            ) from None
        self.port = self._server.server_address[1]
        self._cookie_name = f"{COOKIE}{self.port}"

    @property
    def redirect_uri(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    def start_link(self, target: str) -> str:
        """The one-time link to open the browser on: it sets this sign-in's cookie and
        redirects to ``target`` (the authorization URL). Same host literal as the redirect
        URI, or the browser would not send the cookie back."""
        self._target = target
        return f"http://{HOST}:{self.port}{self._start_path}"

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.server_close()

    def wait(self, state: str, timeout: float, tick: Callable[[float], None] = lambda left: None,
             clock: Callable[[], float] = time.monotonic,
             notice: Callable[[str], None] = lambda line: None) -> str:
        """The authorization code from the redirect whose ``state`` and cookie are ours.

        ``tick(seconds_left)`` runs about once a second while waiting (the countdown);
        ``notice(line)`` tells the person about a request refused on the way.
        Raises a RedirectError (Interfered, Refused, TimedOut) when it ends otherwise.
        """
        self._expected_state, self._notice = state, notice
        deadline = clock() + timeout
        while self._result is None and self._failure is None:
            left = deadline - clock()
            if left <= 0:
                raise TimedOut(f"no answer from the browser within {timeout:.0f} s; nothing was "
                               "stored; run the login again")
            tick(left)
            self._server.timeout = min(1.0, left)
            self._server.handle_request()
        if self._failure is not None:
            raise self._failure
        assert self._result is not None
        return self._result["code"]

    def _start(self) -> tuple[int, str, str, dict[str, str]]:
        """The start link, once: (HTTP status, page title, page text, extra headers)."""
        if self._start_used:
            self._failure = Interfered(
                "another process interfered: the sign-in link was opened a second time (by "
                "another program, or in a second browser); nothing was stored; run the login "
                "again")
            return 400, "Sign-in stopped", "This sign-in link was already used, so the " \
                "sign-in was stopped. Nothing was stored. Close this tab and run the login " \
                "again.", {}
        self._start_used = True
        cookie = (f"{self._cookie_name}={self._cookie}; HttpOnly; SameSite=Lax; Path=/; "
                  f"Max-Age={COOKIE_LIFETIME}")
        return 302, "Signing in", "Continuing to the identity provider.", {
            "Location": self._target, "Set-Cookie": cookie}

    def _answer(self, query: str, cookies: dict[str, str]) -> tuple[int, str, str]:
        """Judge one redirect: (HTTP status, page title, page text)."""
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if not _same(params.get("state", ""), self._expected_state):
            return 400, "Not this sign-in", "This answer does not belong to the sign-in " \
                "git-credential-copilot is waiting for; it ignored it and is still waiting."
        if not _same(cookies.get(self._cookie_name, ""), self._cookie):
            self._failure = Interfered(
                "another process interfered: the sign-in's answer came back without the "
                "cookie its link set (or the browser refuses cookies from 127.0.0.1); nothing "
                "was stored; run the login again")
            return 400, "Sign-in stopped", "This answer did not come from the browser that " \
                "opened the sign-in link, so the sign-in was stopped. Nothing was stored."
        error = params.get("error")
        if error is not None:
            code = one_line(error, 60)
            text = one_line(params.get("error_description", ""))
            what = "you declined the sign-in" if code == "access_denied" else \
                "the identity provider refused the sign-in"
            self._failure = Refused(
                f"{what} ({code}{': ' + text if text else ''}); nothing was stored", code)
            return 200, "Sign-in failed", f"The identity provider answered {code}. " \
                "Nothing was stored. You can close this tab."
        code = params.get("code", "")
        if not code or not code.isprintable() or len(code) > 4096:
            self._failure = RedirectError(
                "the identity provider redirected without an authorization code; "
                "nothing was stored")
            return 400, "Sign-in failed", "No authorization code arrived. You can close this tab."
        self._result = {"code": code}
        return 200, "Signed in", "git-credential-copilot is signed in. You can close this tab."

    def _refuse(self, owner: int | None) -> tuple[int, str, str]:
        """A request from another account, or from a socket already gone: never used."""
        sender = "a connection no process on this machine holds" if owner is None else \
            f"another account on this machine (uid {owner})"
        self._notice(f"refused a request to the sign-in listener from {sender}; still waiting "
                     "for your browser")
        return 403, "Refused", "This request does not come from the account that is signing " \
            "in; git-credential-copilot refused it."

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = CONNECTION_TIMEOUT
            server_version = "git-credential-copilot"
            sys_version = ""

            def log_message(self, *args: object) -> None:
                pass  # stderr belongs to the prompt, not to an access log

            def setup(self) -> None:
                # ``timeout`` bounds each read, not the request: a client trickling a byte at
                # a time would hold this one-request-at-a-time listener past its deadline.
                super().setup()
                self._cutoff = threading.Timer(CONNECTION_TIMEOUT, self._cut)
                self._cutoff.daemon = True
                self._cutoff.start()

            def _cut(self) -> None:
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def finish(self) -> None:
                self._cutoff.cancel()
                super().finish()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                done = listener._result is not None or listener._failure is not None
                known = parts.path in (listener.path, listener._start_path)
                if done or not known:
                    self._page(404, "Not found", "Nothing here.")
                    return
                trusted, owner = peer_trusted(self.connection.getsockname(), self.client_address)
                if not trusted:
                    self._page(*listener._refuse(owner))
                elif parts.path == listener._start_path:
                    self._page(*listener._start())
                else:
                    self._page(*listener._answer(parts.query, _cookies(self.headers)))

            def _page(self, status: int, title: str, text: str,
                      headers: dict[str, str] | None = None) -> None:
                body = (
                    "<!doctype html><html><head><meta charset=\"utf-8\">"
                    f"<title>{html.escape(title)}</title></head><body>"
                    f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Connection", "close")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


def peer_trusted(ours: tuple[str, int], peer: tuple[str, int],
                 table: str = TCP_TABLE) -> tuple[bool, int | None]:
    """May the process at the other end of this loopback connection take part in the
    sign-in? (trusted, the uid that owns it, if known).

    Trusted: a live socket of this account, or of root (which can read our store anyway).
    Not: another account's, or one no process holds any more - it sent its request and closed
    at once, and the table no longer says whose it was. Where the kernel keeps no such table
    (macOS, Windows) there is nothing to ask and every peer is trusted: the start link and its
    cookie are then the whole defence.
    """
    try:
        owner = socket_owner(table, peer, ours)
    except (OSError, ValueError):
        return True, None  # no table here; nobody else can make ours vanish or unreadable
    return owner == 0 or (owner is not None and osdeps.owned(owner)), owner


def socket_owner(table: str, local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid of the live socket at ``local`` connected to ``remote`` in a /proc/net/tcp
    table; None when there is none (an inode of 0: no process holds the socket)."""
    want = (_hex_address(local), _hex_address(remote))
    with open(table, encoding="ascii") as rows:
        next(rows, None)  # the header
        for row in rows:
            fields = row.split()
            # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
            if len(fields) > 9 and (fields[1], fields[2]) == want and fields[9] != "0":
                return int(fields[7])
    return None


def _hex_address(address: tuple[str, int]) -> str:
    """An IPv4 address as /proc/net/tcp writes it: the 32-bit value in host byte order."""
    host, port = address[0], address[1]
    value = struct.unpack("=I", socket.inet_aton(host))[0]
    return f"{value:08X}:{port:04X}"


def _cookies(headers: Message) -> dict[str, str]:
    """The request's cookies by name (the first of a name wins)."""
    found: dict[str, str] = {}
    for header in headers.get_all("Cookie") or []:
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            found.setdefault(name, value)
    return found


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class _Server(HTTPServer):
    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's also does a reverse DNS lookup
        self.server_name, self.server_port = HOST, self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser that hangs up early is not the person's problem; never a traceback
