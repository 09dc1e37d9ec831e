"""The generic OAuth 2.0 provider: device-flow login, refresh with rotation, discovery.

For LLM gateways behind a company identity provider (Entra ID, Okta, Auth0, Keycloak,
Google). The grant is the refresh token, kept in the secret store; the token callers get is
the access token, kept in the cache. Login is the RFC 8628 device flow; renewal is the
RFC 6749 §6 refresh grant, run by exactly one process under the profile lock.

Rotation safety: servers that rotate refresh tokens revoke the whole token family when an
old refresh token is replayed. The life cycle stores the rotated refresh token before it
releases the lock, so no other process can ever read (and replay) the old one. A refresh
answered with ``invalid_grant`` or any 400/401 means the refresh token is dead: the life cycle
deletes it and never sends it again - the automatic version of "delete the credentials
file and log in again".
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from helper.providers.base import (
    FLOW,
    HOSTS,
    PORT,
    STR,
    URL,
    Checkup,
    Diagnostic,
    GrantRevoked,
    Problem,
    Provider,
    ProviderSpec,
    failed,
    passed,
    translated,
)
from helper.storage.records import Authorization, Grant, Minted, Token

if TYPE_CHECKING:
    from helper.console import Console
    from helper.oauth2 import rfc6749, rfc8414
    from helper.providers.profile import Profile

# -- the configuration (read on every get: no heavy imports) -------------------------------

KEYS = {
    "issuer": URL, "device_authorization_url": URL, "token_url": URL,
    "client_id": STR, "client_secret": STR, "scope": STR, "hosts": HOSTS,
    "api_base": URL, "audience": STR,
    # browser sign-in: which flow, where to send the browser, a registered loopback port
    "flow": FLOW, "authorization_url": URL, "redirect_port": PORT,
}
DEFAULTS = {"scope": "openid offline_access", "flow": "auto", "redirect_port": "0"}
# The keys that name the server and client issuing a login (see copilot.IDENTITY).
IDENTITY = ("issuer", "token_url", "client_id", "audience")


def check(profile: Profile) -> Problem | None:
    """The keys without a default that the flow cannot do without."""
    if not profile.client_id:
        return Problem("client_id", "is required for provider 'oauth'")
    sign_in = profile.setting("device_authorization_url") or profile.setting("authorization_url")
    if not profile.setting("issuer") and not (sign_in and profile.setting("token_url")):
        return Problem("", "needs issuer, or token_url with device_authorization_url or "
                       "authorization_url")
    return None


def login_host(profile: Profile) -> str:
    """No host stands for the login itself: store/erase always address tokens."""
    return ""


# RFC 6749 §5.1 only RECOMMENDS expires_in; when a server leaves it out, assume an hour and
# rely on the caller's erase-after-401 if the token dies sooner.
DEFAULT_LIFETIME = 3600


class OAuthProvider(Provider):
    grant_label = "refresh token"
    mint_label = "the token endpoint"

    @property
    def login_label(self) -> str:
        p = self.profile
        return f"{p.setting('issuer') or p.setting('token_url')} (profile {p.name})"

    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
        return [stored] if stored is not None else []

    def device_extra(self) -> dict[str, str]:
        audience = self.profile.setting("audience")
        return {"audience": audience} if audience else {}

    def mint(self, grant: Grant) -> Minted:
        with translated():
            from helper.oauth2 import rfc6749

            if not grant.refresh_token:
                raise GrantRevoked("the login holds no refresh token (ask for offline_access?)")
            try:
                answer = rfc6749.refresh(
                    self.transport, self._endpoints().token_endpoint, self.profile.client_id,
                    grant.refresh_token, self.profile.client_secret, self.profile.scope,
                )
            except rfc6749.ServerSide:
                raise  # the server's trouble: keep the refresh token
            except rfc6749.OAuthError as e:
                raise GrantRevoked(f"the refresh token was refused: {e}") from e
            rotated = None
            if answer.refresh_token and answer.refresh_token != grant.refresh_token:
                rotated = Grant(
                    refresh_token=answer.refresh_token,
                    refresh_expires_at=answer.refresh_expires_at or grant.refresh_expires_at,
                    username=grant.username,
                )
            return Minted(token=self._token(answer), grant=rotated)

    def authorize(self, console: Console) -> Authorization:
        with translated():
            from helper.oauth2 import browser

            endpoints, p = self._endpoints(), self.profile
            client = browser.Client(p.client_id, endpoints.token_endpoint,
                                    endpoints.authorization_endpoint, p.scope, p.client_secret,
                                    p.setting("audience"))
            answer = browser.sign_in(
                p.setting("flow") or "auto", client, endpoints.device_authorization_endpoint,
                lambda: self._device_flow(console, endpoints.device_authorization_endpoint,
                                          endpoints.token_endpoint),
                self.transport, console, self.login_label, self.env,
                port=int(p.setting("redirect_port") or 0))
            grant = Grant(access_token="" if answer.refresh_token else answer.access_token,
                          refresh_token=answer.refresh_token or "",
                          expires_at=answer.expires_at,
                          refresh_expires_at=answer.refresh_expires_at)
            return Authorization(grant=grant, token=self._token(answer))

    def servers(self) -> list[str]:
        p = self.profile
        return [u for u in (p.setting("issuer") or p.setting("token_url"), p.api_base) if u]

    def diagnose(self, checkup: Checkup) -> list[Diagnostic]:
        """Whether a login is stored. It is not tried: a refresh may rotate the refresh
        token, and doctor changes nothing."""
        if checkup.stored is not None:
            return [passed("login", "a login is stored")]
        return [failed("login", "no login stored", self.login_fix(checkup.login_command))]

    def _token(self, answer: rfc6749.TokenResponse) -> Token:
        now = int(time.time())
        expires_at = answer.expires_at or now + DEFAULT_LIFETIME
        # api_base is configuration for this provider: read from the profile, never cached.
        return Token(token=answer.access_token, expires_at=expires_at,
                     refresh_at=expires_at, minted_at=now)

    def _endpoints(self) -> rfc8414.Endpoints:
        from helper.oauth2 import rfc8414
        from helper.storage import files

        p = self.profile
        device, token = p.setting("device_authorization_url"), p.setting("token_url")
        authorization, flow = p.setting("authorization_url"), p.setting("flow") or "auto"
        given = rfc8414.Endpoints(device, token, authorization)
        # Discovery only when some endpoint the flow may use is not configured.
        if not p.setting("issuer") or (token and (device or flow == "browser")
                                       and (authorization or flow == "device")):
            return given
        found = rfc8414.discover(self.transport, p.setting("issuer"),
                                 self.cache_dir / f"discovery-{p.name}.json", files.quiet)
        return rfc8414.Endpoints(device or found.device_authorization_endpoint,
                                 token or found.token_endpoint,
                                 authorization or found.authorization_endpoint)


SPEC = ProviderSpec(name="oauth", keys=KEYS, defaults=DEFAULTS, identity=IDENTITY,
                    check=check, login_host=login_host, provider=OAuthProvider)
