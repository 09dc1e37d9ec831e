"""The GitHub Copilot provider: a GitHub OAuth login, exchanged for short-lived Copilot tokens.

Flow: GitHub's device flow (``{github_url}/login/device/code``) gives a GitHub OAuth token;
``GET {api_url}/copilot_internal/v2/token`` with ``Authorization: token <github token>``
and the editor headers Copilot expects exchanges it for a Copilot token
(``token``, ``expires_at``, ``refresh_in``, ``endpoints.api``) that callers send as
``Authorization: Bearer`` to the Copilot API.

The exchange's answers mean: 401, the GitHub token is dead (revoked, expired): never send it
again. 403, the account has no Copilot access (the body says why). 404, the token comes from
an OAuth app Copilot does not accept. Neither 403 nor 404 is fixed by a new token, so
neither deletes anything.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from helper.errors import CredentialError, one_line
from helper.providers.base import GrantRevoked, Provider
from helper.storage.records import EXPIRY_MARGIN, Authorization, Grant, Minted, Token, seconds
from helper.net.urls import host_of, url_problem

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: config reads KEYS/DEFAULTS on every get
if TYPE_CHECKING:
    from helper.oauth2 import rfc6749
    from helper.core.config import Profile
    from helper.console import Console
    from helper.net.transport import Response

# -- the plug-in: this provider's configuration (read on every get: no heavy imports) ----

HOSTS = (
    "api.githubcopilot.com",
    "api.individual.githubcopilot.com",
    "api.business.githubcopilot.com",
    "api.enterprise.githubcopilot.com",
)
KEYS = {"github_url": "url", "api_url": "url", "client_id": "str", "scope": "str", "hosts": "hosts"}
# The keys that name the server and client issuing a login: a login and its tokens are bound
# to their values (another GitHub, another API or another app is another login).
IDENTITY = ("github_url", "api_url", "client_id")
DEFAULTS = {
    "github_url": "https://github.com",
    "api_url": "https://api.github.com",
    "client_id": "Iv1.b507a08c87ecfe98",
    "scope": "read:user",
    "hosts": HOSTS,
}


def check(profile: Profile) -> tuple[str, str] | None:
    """No rule across keys: every key has a default."""
    return None


def login_host(profile: Profile) -> str:
    """git addresses the GitHub login itself at the GitHub host (store/erase)."""
    return host_of(profile.setting("github_url"))


DEFAULT_API_BASE = "https://api.githubcopilot.com"
# The Copilot token endpoint and API expect to be called by an editor integration.
EDITOR_HEADERS = {
    "Editor-Version": "vscode/1.99.3",
    "Editor-Plugin-Version": "copilot-chat/0.26.7",
    "Copilot-Integration-Id": "vscode-chat",
    "User-Agent": "GitHubCopilotChat/0.26.7",
}
ENV_FIRST = "COPILOT_GITHUB_TOKEN"
ENV_FALLBACK = ("GH_TOKEN", "GITHUB_TOKEN")
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


def _github_errors() -> dict[str, type[rfc6749.OAuthError]]:
    """RFC 6749's error codes, and GitHub's name for invalid_grant (``bad_refresh_token``:
    the refresh token is incorrect or expired)."""
    from helper.oauth2 import rfc6749

    return {**rfc6749.ERRORS, "bad_refresh_token": rfc6749.InvalidGrant}


class NoCopilotAccess(CredentialError):
    """The exchange refused a valid GitHub token: no subscription, policy, or wrong app."""


class CopilotProvider(Provider):
    kind = "copilot"
    env_overrides = (ENV_FIRST,)  # when set, it comes before the stored login

    @property
    def login_label(self) -> str:
        return f"GitHub ({self.profile.login_host})"

    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
        return grant_sources(stored, env)

    def refusal_hint(self, token: str) -> str:
        if token.startswith(("ghp_", "github_pat_")):
            return " (a personal access token: the exchange accepts only a Copilot app's login)"
        if token.startswith("gho_"):
            return " (an OAuth app's token, e.g. gh's: the exchange may not accept it)"
        return ""

    def mint(self, grant: Grant) -> Minted:
        renewed = None
        if self._github_token_expired(grant):
            grant = renewed = self._refresh_github_token(grant)
        try:
            token = self._exchange(grant)
        except GrantRevoked:
            if renewed is None and grant.refresh_token:
                renewed = self._refresh_github_token(grant)
                token = self._exchange(renewed)
            else:
                raise
        return Minted(token=token, grant=renewed)

    def accepts(self, token: Token) -> bool:
        """``GET {api}/models`` with the token: 200 means the API accepts it. 401 and 403
        (Copilot Enterprise's answer for an expired token) mean it does not; so does
        anything else, since a renewal is then the safer answer."""
        url = f"{token.api_base or DEFAULT_API_BASE}/models"
        headers = {"Authorization": f"Bearer {token.token}", **EDITOR_HEADERS}
        try:
            return self.transport.request("GET", url, headers=headers).status == 200
        except CredentialError:
            return False

    def authorize(self, console: Console) -> Authorization:
        base = self.profile.setting("github_url")
        answer = self._device_flow(console, f"{base}/login/device/code",
                                   f"{base}/login/oauth/access_token")
        grant = _grant_from(answer)
        grant.username = self._login_of(grant)
        return Authorization(grant=grant)

    # -- the exchange -------------------------------------------------------------------

    def _exchange(self, grant: Grant) -> Token:
        from helper.net.transport import ServerError

        url, headers = exchange_request(self.profile.setting("api_url"), grant.access_token)
        response = self.transport.request("GET", url, headers=headers)
        if response.status == 401:
            raise GrantRevoked(f"{url} answered 401: the GitHub token was rejected")
        if response.status == 403:
            raise NoCopilotAccess(f"Copilot refused this GitHub account (403): {_reason(response)}")
        if response.status == 404:
            raise NoCopilotAccess(
                "Copilot does not accept this GitHub token (404): it was issued to an app "
                "Copilot does not trust; log in with this helper's device flow instead"
            )
        if response.status != 200:
            raise ServerError(f"{url} answered HTTP {response.status} ({response.snippet()})")
        return _copilot_token(response, grant.username)

    # -- GitHub's expiring user tokens (GitHub Apps with token expiration) ----------------

    @staticmethod
    def _github_token_expired(grant: Grant) -> bool:
        return bool(grant.refresh_token and grant.expires_at
                    and time.time() > grant.expires_at - GITHUB_TOKEN_MARGIN)

    def _refresh_github_token(self, grant: Grant) -> Grant:
        from helper.oauth2 import rfc6749

        try:
            answer = rfc6749.refresh(
                self.transport, f"{self.profile.setting('github_url')}/login/oauth/access_token",
                self.profile.client_id, grant.refresh_token, errors=_github_errors(),
            )
        except rfc6749.InvalidGrant as e:
            raise GrantRevoked(f"GitHub refused the refresh token: {e}") from e
        fresh = _grant_from(answer)
        return Grant(fresh.access_token, fresh.refresh_token or grant.refresh_token,
                     fresh.expires_at, fresh.refresh_expires_at, grant.username, grant.origin)

    def _login_of(self, grant: Grant) -> str:
        """The GitHub login name, for ``username=``; empty when GitHub will not say."""
        headers = {"Authorization": f"token {grant.access_token}"}
        try:
            url = f"{self.profile.setting('api_url')}/user"
            response = self.transport.request("GET", url, headers=headers)
            login = response.json_object().get("login") if response.status == 200 else None
        except CredentialError:
            return ""
        return login if isinstance(login, str) and login.isprintable() else ""


def grant_sources(stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
    """The GitHub logins a get tries, best first: COPILOT_GITHUB_TOKEN, the stored login, and
    GH_TOKEN / GITHUB_TOKEN only when nothing is stored."""
    found = []
    if env.get(ENV_FIRST):
        found.append(Grant(access_token=env[ENV_FIRST], origin=ENV_FIRST))
    if stored is not None:
        found.append(stored)
    else:
        found += [Grant(access_token=env[name], origin=name)
                  for name in ENV_FALLBACK if env.get(name)]
    return found


def exchange_request(api_url: str, github_token: str) -> tuple[str, dict[str, str]]:
    """The URL and headers of the Copilot token exchange for ``github_token``."""
    return (f"{api_url}/copilot_internal/v2/token",
            {"Authorization": f"token {github_token}", **EDITOR_HEADERS})


def kind_of(token: str) -> tuple[str, bool | None]:
    """What a GitHub token is by its prefix, and whether the exchange accepts that kind."""
    for prefix, kind, accepted in TOKEN_KINDS:
        if token.startswith(prefix):
            return kind, accepted
    return "a token of unknown kind", None


def _grant_from(answer: rfc6749.TokenResponse) -> Grant:
    return Grant(
        access_token=answer.access_token,
        refresh_token=answer.refresh_token or "",
        expires_at=answer.expires_at,
        refresh_expires_at=answer.refresh_expires_at,
    )


def _copilot_token(response: Response, username: str) -> Token:
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


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock from its ``Date`` header; None when absent or unreadable."""
    from email.utils import parsedate_to_datetime

    value = next((v for k, v in headers.items() if k.lower() == "date"), None)
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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


def _reason(response: Response) -> str:
    from helper.net.transport import ServerError

    try:
        body = response.json_object()
    except ServerError:
        return response.snippet()
    details = body.get("error_details")
    message = details.get("message") if isinstance(details, dict) else None
    message = message or body.get("message") or body.get("error")
    return one_line(str(message)) if message else "no reason given"


PROVIDER = CopilotProvider
