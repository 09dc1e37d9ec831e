"""The loopback redirect of OAuth 2.0 for Native Apps (RFC 8252 §7.3).

Spec: https://www.rfc-editor.org/rfc/rfc8252#section-7.3 - the app listens on the loopback
interface on a port of its choosing and names ``http://127.0.0.1:{port}/{path}`` as its
redirect URI; §8.3 prefers the IP literal to ``localhost`` (no name resolution, never another
interface). The authorization response arrives as query parameters (RFC 6749 §4.1.2).

The listener is one-shot: it answers requests until the one for its path arrives, checks the
``state`` (anything else is refused and ends the sign-in), shows the browser a short page,
and closes. Every wait is bounded: the whole sign-in by ``timeout``, each connection by a
socket timeout, so a client that connects and says nothing cannot hold it.
"""

from __future__ import annotations

import hmac
import html
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from helper.errors import CredentialError, one_line

HOST = "127.0.0.1"
PATH = "/callback"
CONNECTION_TIMEOUT = 5.0  # seconds one browser connection may take, in all, to be answered


class RedirectError(CredentialError):
    """The sign-in ended at the loopback listener without a usable code."""


class StateMismatch(RedirectError):
    """The redirect carried another ``state`` than this sign-in sent: forged or stale."""


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
    """A one-shot HTTP listener on 127.0.0.1 for the authorization response."""

    def __init__(self, port: int = 0, path: str = PATH):
        self.path = path
        self._result: dict[str, str] | None = None
        self._failure: RedirectError | None = None
        try:
            self._server = _Server((HOST, port), self._handler_class())
        except OSError as e:
            raise PortInUse(
                f"cannot listen on {HOST}:{port} for the sign-in redirect ({e.strerror}); "
                "free that port or change redirect_port"
            ) from None
        self.port = self._server.server_address[1]

    @property
    def redirect_uri(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.server_close()

    def wait(self, state: str, timeout: float, tick: Callable[[float], None] = lambda left: None,
             clock: Callable[[], float] = time.monotonic) -> str:
        """The authorization code from the redirect whose ``state`` is ours.

        ``tick(seconds_left)`` runs about once a second while waiting (the countdown).
        Raises a RedirectError (StateMismatch, Refused, TimedOut) when it ends otherwise.
        """
        self._expected_state = state
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

    def _answer(self, query: str) -> tuple[int, str, str]:
        """Judge one redirect: (HTTP status, page title, page text)."""
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if not hmac.compare_digest(params.get("state", "").encode(), self._expected_state.encode()):
            self._failure = StateMismatch(
                "the browser came back with a state that does not belong to this sign-in "
                "(a forged or stale redirect); nothing was stored; run the login again")
            return 400, "Sign-in refused", "This sign-in link is not the one git-credential-" \
                "copilot is waiting for. Nothing was stored. Close this tab and try again."
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
                if parts.path != listener.path or done:
                    self._page(404, "Not found", "Nothing here.")
                    return
                self._page(*listener._answer(parts.query))

            def _page(self, status: int, title: str, text: str) -> None:
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
                self.end_headers()
                self.wfile.write(body)

        return Handler


class _Server(HTTPServer):
    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's also does a reverse DNS lookup
        self.server_name, self.server_port = HOST, self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser that hangs up early is not the person's problem; never a traceback
