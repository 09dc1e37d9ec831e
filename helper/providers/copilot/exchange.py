"""The Copilot token exchange: a GitHub login in, a short-lived Copilot token out.

``GET {api_url}/copilot_internal/v2/token`` with ``Authorization: token <github token>``
and the editor headers Copilot expects answers ``token``, ``expires_at``, ``refresh_in``
and ``endpoints.api``; callers send the token as ``Authorization: Bearer`` to that API.

The answers mean: 401, the GitHub token is dead (revoked, expired): never send it again.
403, the account has no Copilot access (the body says why). 404, the token comes from an
OAuth app Copilot does not accept. Neither 403 nor 404 is fixed by a new token, so neither
deletes anything. This module is the one reader of those answers: the provider mints with
it and ``doctor`` checks with it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from helper.errors import CredentialError, one_line
from helper.net.urls import url_problem
from helper.providers.base import GrantRevoked, server_time
from helper.storage.records import EXPIRY_MARGIN, Token, seconds

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from helper.net.transport import Response, Transport

DEFAULT_API_BASE = "https://api.githubcopilot.com"
# The Copilot token endpoint and API expect to be called by an editor integration.
EDITOR_HEADERS = {
    "Editor-Version": "vscode/1.99.3",
    "Editor-Plugin-Version": "copilot-chat/0.26.7",
    "Copilot-Integration-Id": "vscode-chat",
    "User-Agent": "GitHubCopilotChat/0.26.7",
}


class NoCopilotAccess(CredentialError):
    """The exchange refused a valid GitHub token: no subscription, policy, or wrong app."""


class NoCopilotSeat(NoCopilotAccess):
    """403: the account has no Copilot access; ``reason`` is the server's word for why."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class AppNotAccepted(NoCopilotAccess):
    """404: the token was issued to an app Copilot does not trust (gh's, for one)."""


class UnexpectedAnswer(CredentialError):
    """The exchange answered with a status that says nothing about the login."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def request(api_url: str, github_token: str) -> tuple[str, dict[str, str]]:
    """The URL and headers of the exchange for ``github_token``."""
    return (f"{api_url}/copilot_internal/v2/token",
            {"Authorization": f"token {github_token}", **EDITOR_HEADERS})


def answer(transport: Transport, api_url: str, github_token: str,
           retry_statuses: Callable[[Response], bool] | None = None) -> Response:
    """One exchange, its answer read: the 200 response, or the error its status means
    (GrantRevoked, NoCopilotSeat, AppNotAccepted, UnexpectedAnswer)."""
    url, headers = request(api_url, github_token)
    response = transport.request("GET", url, headers=headers, retry_statuses=retry_statuses)
    if response.status == 401:
        raise GrantRevoked(f"{url} answered 401: the GitHub token was rejected")
    if response.status == 403:
        why = _reason(response)
        raise NoCopilotSeat(f"Copilot refused this GitHub account (403): {why}", why)
    if response.status == 404:
        raise AppNotAccepted(
            "Copilot does not accept this GitHub token (404): it was issued to an app "
            "Copilot does not trust; log in with this helper's device flow instead"
        )
    if response.status != 200:
        raise UnexpectedAnswer(f"{url} answered HTTP {response.status} ({response.snippet()})",
                               response.status)
    return response


def token_from(response: Response, username: str) -> Token:
    """The Copilot token in a 200 answer, timed on the local clock."""
    from helper.net.transport import ServerError

    where = response.url
    body = response.json_object()
    token = body.get("token")
    expires_at = body.get("expires_at")
    refresh_in = body.get("refresh_in")
    if not isinstance(token, str) or not token or not token.isprintable():
        raise ServerError(f"{where} answered 200 without a usable token")
    expires = seconds(expires_at)
    if expires is None:
        raise ServerError(f"{where} answered 200 without a numeric expires_at")
    now = int(time.time())
    expires_local, refresh_at = local_times(now, expires, seconds(refresh_in),
                                            server_time(response.headers))
    endpoints = body.get("endpoints")
    api_base = DEFAULT_API_BASE
    if isinstance(endpoints, dict) and isinstance(endpoints.get("api"), str):
        problem = url_problem(endpoints["api"])
        if problem:
            raise ServerError(f"{where} named a Copilot API endpoint that cannot be used: "
                              f"{problem}")
        api_base = endpoints["api"].rstrip("/")
    return Token(
        token=token, expires_at=expires_local, refresh_at=refresh_at, minted_at=now,
        api_base=api_base, username=username,
    )


def plan(response: Response) -> str:
    """What a 200 answer says of the account's plan (sku, chat, API), for doctor."""
    body = _json(response)
    endpoints = body["endpoints"] if isinstance(body.get("endpoints"), dict) else {}
    return ", ".join(f"{k}={one_line(str(v), 60)}" for k, v in (
        ("sku", body.get("sku")), ("chat_enabled", body.get("chat_enabled")),
        ("endpoints.api", endpoints.get("api"))) if v is not None)


def local_times(now: int, expires: float, refresh_in: float | None,
                server_now: float | None) -> tuple[int, int]:
    """``expires_at`` (the server's clock) and ``refresh_in`` as local times counted from
    ``now``, the moment of minting: the lifetime is ``expires_at`` minus the server's
    ``Date``, so a local clock hours off neither re-mints on every call nor keeps a dead
    token. Without a ``Date`` only ``refresh_in`` can be trusted, if given."""
    refresh = refresh_in if refresh_in is not None and refresh_in > 0 else None
    if server_now is not None:
        lifetime = expires - server_now
    elif refresh is not None:
        lifetime = refresh + EXPIRY_MARGIN  # it lives at least until it should be renewed
    else:
        lifetime = expires - now
    expires_local = now + int(lifetime)
    refresh_at = expires_local if refresh is None else min(expires_local, now + int(refresh))
    return expires_local, refresh_at


def _json(response: Response) -> dict[str, Any]:
    from helper.net.transport import ServerError

    try:
        return response.json_object()
    except ServerError:
        return {}


def _reason(response: Response) -> str:
    """The server's reason for a refusal: ``error_details.message``, else ``message`` or
    ``error``; the body itself when it is not JSON."""
    from helper.net.transport import ServerError

    try:
        body = response.json_object()
    except ServerError:
        return response.snippet()
    details = body.get("error_details")
    message = details.get("message") if isinstance(details, dict) else None
    message = message or body.get("message") or body.get("error")
    return one_line(str(message)) if message else "no reason given"
