"""Signing in through the browser, and choosing between the browser and the device flow.

Spec: RFC 6749 §4.1 (the authorization code grant:
https://www.rfc-editor.org/rfc/rfc6749#section-4.1), with RFC 7636 PKCE (``rfc7636``) and the
RFC 8252 loopback redirect (``rfc8252``). Many companies block the device flow (Entra ID
conditional access ships a policy against it; it is what device-code phishing abuses), and
some identity providers do not offer it at all: those users sign in here.

The browser is started by the command ``osdeps.browser_command`` names for this OS (the
standard library's ``webbrowser``, which honours ``$BROWSER``; ``wslview`` under WSL without
one) in a child process whose stdin and stdout are not ours: stdout is git's
credential protocol, and a browser that inherited it would write into it, or keep git waiting
for it to close. It is started on the listener's one-time start link, never on the
authorization URL: any account can read a command line, and the ``state`` and PKCE challenge
must not be in one (``rfc8252`` binds them to the browser). The link is also printed on
stderr for copy-paste.
"""

from __future__ import annotations

import secrets
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from helper import osdeps
from helper.console import PREFIX, Console
from helper.net.transport import Transport
from helper.oauth2 import rfc6749, rfc7636, rfc8252
from helper.oauth2.errors import OAuth2Error
from helper.oauth2.rfc6749 import TokenResponse

FLOWS = ("auto", "browser", "device")
TIMEOUT = 300.0  # seconds a person has to finish signing in, like a device code's lifetime
GRANT_TYPE = "authorization_code"

# The device flow is refused outright with these (RFC 6749 §5.2 codes at the device endpoint).
DEVICE_REFUSALS = (rfc6749.UnauthorizedClient, rfc6749.UnsupportedGrantType)

Opener = Callable[[str, Mapping[str, str]], None]


class NoFlow(OAuth2Error):
    """Neither sign-in flow can run here."""


class CodeRefused(OAuth2Error):
    """The token endpoint would not redeem the authorization code."""


@dataclass(frozen=True)
class Client:
    """Who signs in where: the profile's client and the endpoints it uses."""

    client_id: str
    token_endpoint: str
    authorization_endpoint: str
    scope: str = ""
    client_secret: str = ""
    audience: str = ""  # Auth0's extra parameter for the API the token is for

    def __repr__(self) -> str:
        return f"Client(client_id={self.client_id!r}, token_endpoint={self.token_endpoint!r})"


def can_open(env: Mapping[str, str], platform: str = osdeps.PLATFORM) -> bool:
    """Can a browser open here? macOS and Windows always; elsewhere with a display or
    ``$BROWSER`` (without them ``webbrowser`` would start a text browser on the terminal),
    or under WSL with ``wslview`` (``osdeps.browser_command``)."""
    return osdeps.browser_command(env, platform) is not None


def choose(flow: str, authorization_endpoint: str, device_endpoint: str,
           env: Mapping[str, str], platform: str = osdeps.PLATFORM) -> str:
    """``browser`` or ``device`` for a profile's ``flow`` setting."""
    if flow != "auto":
        return flow
    if authorization_endpoint and (can_open(env, platform) or not device_endpoint):
        return "browser"
    return "device"


def sign_in(flow: str, client: Client, device_endpoint: str, device: Callable[[], TokenResponse],
            transport: Transport, console: Console, what: str, env: Mapping[str, str], *,
            port: int = 0, platform: str = osdeps.PLATFORM, opener: Opener | None = None,
            timeout: float | None = None) -> TokenResponse:
    """Sign in with the flow ``flow`` picks; ``device()`` runs the device flow.

    In ``auto``, a device flow the identity provider refuses falls back to the browser, and
    says so; where no browser can open, the link is for a person to open on this machine.
    """
    chosen = choose(flow, client.authorization_endpoint, device_endpoint, env, platform)
    if chosen == "device":
        if not device_endpoint:
            raise NoFlow("the identity provider names no device authorization endpoint"
                         + ("" if flow == "device" else " and no authorization endpoint")
                         + "; set device_authorization_url or authorization_url in the profile")
        try:
            return device()
        except DEVICE_REFUSALS as e:
            if flow == "device" or not client.authorization_endpoint:
                raise
            console.notice(f"the identity provider refuses the device flow ({e.error}); "
                           "signing in through the browser instead")
    elif not client.authorization_endpoint:
        raise NoFlow("the identity provider names no authorization endpoint; set "
                     "authorization_url in the profile, or use flow = \"device\"")
    if opener is None and can_open(env, platform):
        opener = open_browser
    elif opener is None:
        console.notice(osdeps.NO_BROWSER)
    return authorization_code(client, transport, console, what, env, port=port, opener=opener,
                              timeout=timeout)


def authorization_code(client: Client, transport: Transport, console: Console, what: str,
                       env: Mapping[str, str], *, port: int = 0, opener: Opener | None = None,
                       timeout: float | None = None) -> TokenResponse:
    """RFC 6749 §4.1 with PKCE: send the browser to the authorization endpoint through the
    listener's start link, take the code at the listener, redeem it with the verifier."""
    pkce = rfc7636.new()
    state = secrets.token_urlsafe(32)
    with rfc8252.Listener(port) as listener:
        link = listener.start_link(authorization_url(client, listener.redirect_uri, state, pkce))
        _show(console, what, link, opened=opener is not None)
        if opener is not None:
            opener(link, env)
        try:
            code = listener.wait(state, TIMEOUT if timeout is None else timeout,
                                 tick=lambda left: _tick(console, left),
                                 notice=lambda line: _notice(console, line))
        finally:
            _done(console)
    return redeem(transport, client, code, listener.redirect_uri, pkce.verifier)


def authorization_url(client: Client, redirect_uri: str, state: str, pkce: rfc7636.Pkce) -> str:
    """The authorization request (RFC 6749 §4.1.1 + RFC 7636 §4.3)."""
    query = {"response_type": "code", "client_id": client.client_id,
             "redirect_uri": redirect_uri, "state": state,
             "code_challenge": pkce.challenge, "code_challenge_method": pkce.method}
    if client.scope:
        query["scope"] = client.scope
    if client.audience:
        query["audience"] = client.audience
    joiner = "&" if "?" in client.authorization_endpoint else "?"
    return f"{client.authorization_endpoint}{joiner}{urlencode(query)}"


def redeem(transport: Transport, client: Client, code: str, redirect_uri: str,
           verifier: str) -> TokenResponse:
    """The access token request for a code (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    form = {"grant_type": GRANT_TYPE, "code": code, "redirect_uri": redirect_uri,
            "client_id": client.client_id, "code_verifier": verifier}
    if client.client_secret:
        form["client_secret"] = client.client_secret
    response = transport.request("POST", client.token_endpoint, data=form)
    try:
        return rfc6749.parse_token_response(response)
    except rfc6749.ServerSide:
        raise
    except rfc6749.OAuthError as e:
        raise CodeRefused(f"the sign-in code was refused: {e}; nothing was stored; "
                          "run the login again") from None


def open_browser(url: str, env: Mapping[str, str]) -> None:
    """Open ``url`` with this OS's opener (``python -m webbrowser``, which reads ``$BROWSER``
    from ``env``; or ``wslview``) in a child of its own: its stdin/stdout/stderr are not ours;
    we never wait for it."""
    command = osdeps.browser_command(env)
    if command is None:
        return  # the link is on stderr; a person can still open it
    try:
        proc = subprocess.Popen(
            # -I and cwd="/": git runs us inside a repository, and `python -m` would import a
            # webbrowser.py planted at its top (or follow PYTHONPATH/PYTHONSTARTUP) first.
            [*command, url], env=dict(env), cwd="/",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
    except OSError:
        return  # the link is on stderr; a person can still open it
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it ends


def _show(console: Console, what: str, url: str, opened: bool) -> None:
    first = (f"{PREFIX}to sign in to {what}, continue in the browser; if it did not open, "
             "open this link:" if opened else
             f"{PREFIX}to sign in to {what}, open this link in a browser on this machine:")
    _write(console, f"{first}\n  {url}\n")


def _tick(console: Console, left: float) -> None:
    if console.is_terminal:
        seconds = max(0, int(left))
        _write(console, f"\r  waiting for the browser... {seconds // 60}:{seconds % 60:02d} "
                        "left \x1b[K")


def _done(console: Console) -> None:
    if console.is_terminal:
        _write(console, "\r\x1b[K")


def _notice(console: Console, line: str) -> None:
    """A notice on a line of its own, not after the countdown; the countdown comes back."""
    _done(console)
    console.notice(line)


def _write(console: Console, text: str) -> None:
    try:
        console.stream.write(text)
        console.stream.flush()
    except (OSError, ValueError):
        pass  # a closed stderr must not end a sign-in the browser can still finish
