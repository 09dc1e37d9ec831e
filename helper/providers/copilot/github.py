"""GitHub logins as Copilot sees them: where a get finds one, what kind each token is, and
when GitHub's expiring user tokens are renewed.

The one table of GitHub token kinds (by prefix) and whether the Copilot exchange accepts
each; the login order (``COPILOT_GITHUB_TOKEN``, the stored login, then ``GH_TOKEN`` /
``GITHUB_TOKEN`` only when nothing is stored); the refresh of expiring GitHub App user
tokens (``refresh_token`` grant at ``{github_url}/login/oauth/access_token``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from helper.errors import CredentialError
from helper.net.transport import header_safe, unsendable_line
from helper.storage.records import Grant

if TYPE_CHECKING:
    from helper.net.transport import Transport
    from helper.oauth2 import rfc6749

ENV_FIRST = "COPILOT_GITHUB_TOKEN"  # when set, it comes before the stored login
ENV_FALLBACK = ("GH_TOKEN", "GITHUB_TOKEN")  # used only when no login is stored
ENV_TOKENS = (ENV_FIRST, *ENV_FALLBACK)

# GitHub's token kinds by prefix, and whether the exchange accepts each (None: only from an
# app Copilot trusts).
TOKEN_KINDS = (
    ("github_pat_", "a fine-grained personal access token", False),
    ("ghp_", "a classic personal access token", False),
    ("ghs_", "a GitHub App installation token", False),
    ("ghu_", "a GitHub App user token (what Copilot's own login gives)", True),
    ("gho_", "an OAuth app token", None),
)
# GitHub's expiring user tokens (GitHub Apps) are refreshed this long before they expire.
GITHUB_TOKEN_MARGIN = 300


def grant_sources(stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
    """The GitHub logins a get tries, best first: COPILOT_GITHUB_TOKEN, the stored login, and
    GH_TOKEN / GITHUB_TOKEN only when nothing is stored. A variable holding what no HTTP
    header can carry is refused here, naming it (it is the person's to fix)."""
    names = [ENV_FIRST] if env.get(ENV_FIRST) else []
    if stored is None:
        names += [name for name in ENV_FALLBACK if env.get(name)]
    for name in names:
        if not header_safe(env[name]):
            raise CredentialError(unsendable_line(env[name], name))
    found = [Grant(access_token=env[ENV_FIRST], origin=ENV_FIRST)] if env.get(ENV_FIRST) else []
    if stored is not None:
        found.append(stored)
    else:
        found += [Grant(access_token=env[name], origin=name)
                  for name in ENV_FALLBACK if env.get(name)]
    return found


def kind_of(token: str) -> tuple[str, bool | None]:
    """What a GitHub token is by its prefix, and whether the exchange accepts that kind."""
    for prefix, kind, accepted in TOKEN_KINDS:
        if token.startswith(prefix):
            return kind, accepted
    return "a token of unknown kind", None


def refusal_hint(token: str) -> str:
    """Why the exchange may refuse ``token``, by its kind; "" when nothing is known."""
    if token.startswith(("ghp_", "github_pat_")):
        return " (a personal access token: the exchange accepts only a Copilot app's login)"
    if token.startswith("gho_"):
        return " (an OAuth app's token, e.g. gh's: the exchange may not accept it)"
    return ""


def due_for_refresh(grant: Grant, now: float) -> bool:
    """Is this an expiring GitHub token (it has a refresh token) within the margin of its
    expiry? Then it is refreshed before the exchange, not sent."""
    return bool(grant.refresh_token and grant.expires_at
                and now > grant.expires_at - GITHUB_TOKEN_MARGIN)


def refresh(transport: Transport, github_url: str, client_id: str, grant: Grant) -> Grant:
    """The grant renewed with its refresh token. Raises GrantRevoked when GitHub refuses it."""
    from helper.oauth2 import rfc6749
    from helper.providers.base import GrantRevoked

    try:
        answer = rfc6749.refresh(transport, f"{github_url}/login/oauth/access_token",
                                 client_id, grant.refresh_token, errors=_errors())
    except rfc6749.InvalidGrant as e:
        raise GrantRevoked(f"GitHub refused the refresh token: {e}") from e
    fresh = grant_from(answer)
    return Grant(fresh.access_token, fresh.refresh_token or grant.refresh_token,
                 fresh.expires_at, fresh.refresh_expires_at, grant.username, grant.origin)


def grant_from(answer: rfc6749.TokenResponse) -> Grant:
    """The GitHub login in a token response (device flow or refresh)."""
    return Grant(
        access_token=answer.access_token,
        refresh_token=answer.refresh_token or "",
        expires_at=answer.expires_at,
        refresh_expires_at=answer.refresh_expires_at,
    )


def _errors() -> dict[str, type[rfc6749.OAuthError]]:
    """RFC 6749's error codes, and GitHub's name for invalid_grant (``bad_refresh_token``:
    the refresh token is incorrect or expired)."""
    from helper.oauth2 import rfc6749

    return {**rfc6749.ERRORS, "bad_refresh_token": rfc6749.InvalidGrant}
