"""The OAuth 2.0 Device Authorization Grant (RFC 8628).

Spec: https://www.rfc-editor.org/rfc/rfc8628 - §3.1-3.2 (device authorization request and
response), §3.4-3.5 (polling the token endpoint and its error codes).

GitHub implements this with two differences the code absorbs: errors arrive as HTTP 200
(not 400), and ``slow_down`` carries the new ``interval`` the client must use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from helper.errors import one_line
from helper.net.transport import ServerError, Transport
from helper.oauth2.rfc6749 import (
    ERRORS,
    OAuthError,
    TokenResponse,
    parse_token_response,
    raise_for_error,
)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # §3.2: "If no value is provided, clients MUST use 5 as the default."
MIN_INTERVAL = 1  # whatever a server says: never a tight polling loop
SLOW_DOWN_STEP = 5


class AuthorizationPending(OAuthError):
    """The authorization request is still pending as the end user hasn't yet completed the
    user-interaction steps."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """A variant of "authorization_pending", the authorization request is still pending and
    polling should continue, but the interval MUST be increased by 5 seconds for this and all
    subsequent requests."""

    error = "slow_down"


class AccessDenied(OAuthError):
    """The authorization request was denied."""

    error = "access_denied"


class ExpiredToken(OAuthError):
    """The "device_code" has expired, and the device authorization session has concluded."""

    error = "expired_token"


DEVICE_ERRORS: dict[str, type[OAuthError]] = {
    **ERRORS,
    **{cls.error: cls for cls in (AuthorizationPending, SlowDown, AccessDenied, ExpiredToken)},
}


@dataclass(frozen=True)
class DeviceCode:
    """The device authorization response (RFC 8628 §3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int = DEFAULT_INTERVAL
    verification_uri_complete: str = ""

    def __repr__(self) -> str:  # device_code is a credential for the token endpoint
        return f"DeviceCode(user_code={self.user_code!r}, expires_in={self.expires_in})"


def request_code(
    transport: Transport, url: str, client_id: str, scope: str = "", client_secret: str = "",
    extra: dict[str, str] | None = None,
) -> DeviceCode:
    """Start a device authorization (RFC 8628 §3.1); ``extra`` adds parameters a server
    needs beyond the RFC (Auth0's ``audience``)."""
    form = {"client_id": client_id, **(extra or {})}
    if scope:
        form["scope"] = scope
    if client_secret:
        form["client_secret"] = client_secret
    response = transport.request("POST", url, data=form)
    if not response.is_json:
        raise ServerError(f"{url} answered HTTP {response.status} ({response.snippet()})")
    body = response.json_object()
    raise_for_error(body, response, DEVICE_ERRORS)
    if response.status != 200:
        raise ServerError(f"{url} answered HTTP {response.status} ({response.snippet()})")
    try:
        code = DeviceCode(
            device_code=_text(body["device_code"]),
            user_code=_text(body["user_code"]),
            verification_uri=_text(body.get("verification_uri") or body["verification_url"]),
            expires_in=_seconds(body.get("expires_in", 900)),
            interval=_interval(body.get("interval")),
            verification_uri_complete=_text(body.get("verification_uri_complete") or "", True),
        )
    except (KeyError, TypeError, ValueError):
        raise ServerError(
            f"{url} answered a device authorization without the fields RFC 8628 requires "
            f"({one_line(', '.join(sorted(map(str, body))), 120)})"
        ) from None
    return code


def poll(
    transport: Transport,
    token_url: str,
    client_id: str,
    code: DeviceCode,
    wait: Callable[[float], None],
    client_secret: str = "",
    clock: Callable[[], float] = time.monotonic,
) -> TokenResponse:
    """Poll until the user approves (RFC 8628 §3.4), waiting exactly the server's interval.

    Raises AccessDenied, ExpiredToken or another OAuthError when the flow ends without a
    token.
    """
    deadline = clock() + code.expires_in
    interval = max(code.interval, MIN_INTERVAL)
    form = {"grant_type": GRANT_TYPE, "device_code": code.device_code, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    while True:
        if clock() + interval > deadline:
            raise ExpiredToken("the device code expired before it was entered; run the login again")
        wait(interval)
        response = transport.request("POST", token_url, data=form)
        try:
            return parse_token_response(response, DEVICE_ERRORS)
        except AuthorizationPending:
            continue
        except SlowDown:
            interval = _slower(interval, response)


def _slower(interval: int, response: object) -> int:
    """RFC 8628 adds 5 s; GitHub also says the new interval itself. Take the larger."""
    stated = 0
    try:
        stated = _seconds(response.json_object().get("interval", 0))  # type: ignore[attr-defined]
    except Exception:  # a malformed interval falls back to the RFC's rule
        stated = 0
    return max(interval + SLOW_DOWN_STEP, stated)


def _interval(value: object) -> int:
    """The server's polling interval: the RFC's 5 s when missing or 0, at least 1 s."""
    seconds = _seconds(DEFAULT_INTERVAL if value is None else value)
    return DEFAULT_INTERVAL if seconds == 0 else max(seconds, MIN_INTERVAL)


def _text(value: object, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise TypeError("expected a non-empty string")
    if any(not ch.isprintable() for ch in value):
        raise ValueError("control characters")
    return value


def _seconds(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("expected a number")
    seconds: int = int(value)  # type: ignore[call-overload]
    if not 0 <= seconds <= 24 * 3600:
        raise ValueError("out of range")
    return seconds
