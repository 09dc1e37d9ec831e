"""OAuth 2.0 token responses and the refresh grant (RFC 6749 §5 and §6).

Spec: https://www.rfc-editor.org/rfc/rfc6749#section-5 (access token response and errors)
and https://www.rfc-editor.org/rfc/rfc6749#section-6 (refreshing an access token).

Each error code of §5.2 is its own exception class, so callers read as one ``except`` per
outcome. Servers differ in how they send errors: the RFC says HTTP 400 with a JSON body,
GitHub answers HTTP 200 with the same JSON. ``parse_token_response`` accepts both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from helper.errors import one_line
from helper.net.transport import Response, ServerError, Transport
from helper.oauth2.errors import OAuth2Error


class OAuthError(OAuth2Error):
    """An error response from a token endpoint (RFC 6749 §5.2)."""

    error = ""

    def __init__(self, message: str, description: str = ""):
        super().__init__(message)
        self.description = description


class InvalidRequest(OAuthError):
    """The request is missing a required parameter or is otherwise malformed."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (unknown client, no client authentication included)."""

    error = "invalid_client"


class InvalidGrant(OAuthError):
    """The provided authorization grant or refresh token is invalid, expired, revoked, does
    not match the redirection URI used in the authorization request, or was issued to another
    client."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """The authenticated client is not authorized to use this authorization grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """The authorization grant type is not supported by the authorization server."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """The requested scope is invalid, unknown, malformed, or exceeds the scope granted."""

    error = "invalid_scope"


class ServerSide(OAuthError):
    """``server_error`` / ``temporarily_unavailable`` (RFC 6749 §4.1.2.1), which some servers
    also send from the token endpoint: the server's trouble, not a verdict on the grant."""

    error = "server_error"


ERRORS: dict[str, type[OAuthError]] = {
    **{cls.error: cls
       for cls in (InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient,
                   UnsupportedGrantType, InvalidScope, ServerSide)},
    "temporarily_unavailable": ServerSide,
}


@dataclass(frozen=True)
class TokenResponse:
    """A successful access token response (RFC 6749 §5.1), with times made absolute."""

    access_token: str
    token_type: str = "bearer"
    expires_at: int | None = None
    refresh_token: str | None = None
    refresh_expires_at: int | None = None
    scope: str = ""

    def __repr__(self) -> str:  # never show the secrets
        return f"TokenResponse(token_type={self.token_type!r}, expires_at={self.expires_at})"


def raise_for_error(
    body: dict[str, Any], response: Response, errors: dict[str, type[OAuthError]]
) -> None:
    """Raise the exception class for ``body["error"]``, if there is one."""
    code = body.get("error")
    if code is None:
        return
    description = one_line(str(body.get("error_description") or ""))
    cls = errors.get(str(code), OAuthError)
    text = f"{_endpoint(response)} answered {one_line(str(code), 60)}"
    if description:
        text += f": {description}"
    raise cls(text, description)


def parse_token_response(
    response: Response, errors: dict[str, type[OAuthError]] = ERRORS, now: float | None = None
) -> TokenResponse:
    """The token in ``response``, or the §5.2 error it carries as an exception.

    Servers put the error code in JSON with different statuses: 400 (the RFC), 200 (GitHub),
    428 and 403 (Google's device flow). Any 2xx-4xx JSON with ``error`` is that error. A 400
    or 401 is the server's verdict on the request even when its body is an HTML page, so it
    is an OAuthError too; anything else that is not a JSON 200 is a ServerError.
    """
    status = response.status
    if 200 <= status < 500 and response.is_json:
        body = response.json_object()
        raise_for_error(body, response, errors)
        if status == 200:
            return _success(body, response, now)
    if status in (400, 401):
        raise OAuthError(f"{_endpoint(response)} answered HTTP {status} ({response.snippet()})")
    raise ServerError(f"{_endpoint(response)} answered HTTP {status} ({response.snippet()})")


def _success(body: dict[str, Any], response: Response, now: float | None) -> TokenResponse:
    now = time.time() if now is None else now
    access = body.get("access_token")
    if not isinstance(access, str) or not access or not access.isprintable():
        raise ServerError(f"{_endpoint(response)} answered without a usable access_token")
    refresh = body.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or not refresh.isprintable()):
        raise ServerError(f"{_endpoint(response)} answered with a malformed refresh_token")
    return TokenResponse(
        access_token=access,
        token_type=str(body.get("token_type") or "bearer"),
        expires_at=_absolute(body.get("expires_in"), now, response, "expires_in"),
        refresh_token=refresh or None,
        refresh_expires_at=_absolute(
            body.get("refresh_token_expires_in"), now, response, "refresh_token_expires_in"
        ),
        scope=str(body.get("scope") or ""),
    )


def refresh(
    transport: Transport,
    token_url: str,
    client_id: str,
    refresh_token: str,
    client_secret: str = "",
    scope: str = "",
    errors: dict[str, type[OAuthError]] = ERRORS,
) -> TokenResponse:
    """Exchange a refresh token for new tokens (RFC 6749 §6)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    if scope:
        form["scope"] = scope
    response = transport.request("POST", token_url, data=form)
    return parse_token_response(response, errors)


def _absolute(value: object, now: float, response: Response, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        seconds: int = int(value)  # type: ignore[call-overload]  # some send strings
    except (TypeError, ValueError):
        raise ServerError(f"{_endpoint(response)} answered with a malformed {name}") from None
    return int(now) + max(0, seconds)


def _endpoint(response: Response) -> str:
    return response.url.split("?", 1)[0]
