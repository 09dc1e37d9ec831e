"""The generic OAuth 2.0 provider: device-flow login, refresh with rotation, discovery.

For LLM gateways behind a company identity provider (Entra ID, Okta, Auth0, Keycloak,
Google). The grant is the refresh token, kept in the secret store; the token callers get is
the access token, kept in the cache. Login is the RFC 8628 device flow; renewal is the
RFC 6749 §6 refresh grant, run by exactly one process under the profile lock.

Rotation safety: servers that rotate refresh tokens revoke the whole token family when an
old refresh token is replayed. The broker stores the rotated refresh token before it
releases the lock, so no other process can ever read (and replay) the old one. A refresh
answered with ``invalid_grant`` or any 400/401 means the refresh token is dead: the broker
deletes it and never sends it again - the automatic version of "delete the credentials
file and log in again".
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from . import files, rfc6749, rfc8414
from .cache import CachedToken
from .console import Console
from .providers import Authorization, Grant, GrantRevoked, Minted, Provider, Source

# RFC 6749 §5.1 only RECOMMENDS expires_in; when a server leaves it out, assume an hour and
# rely on the caller's erase-after-401 if the token dies sooner.
DEFAULT_LIFETIME = 3600


class OAuthProvider(Provider):
    kind = "oauth"

    @property
    def login_label(self) -> str:
        return f"{self.profile.issuer or self.profile.token_url} (profile {self.profile.name})"

    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Source]:
        return [Source(stored, "store")] if stored is not None else []

    def mint(self, source: Source) -> Minted:
        grant = source.grant
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
        import os  # issue 11: the env should come from the broker; os.environ until it does

        from . import browser

        endpoints, p = self._endpoints(), self.profile
        client = browser.Client(p.client_id, endpoints.token_endpoint,
                                endpoints.authorization_endpoint, p.scope, p.client_secret,
                                p.audience)
        answer = browser.sign_in(
            p.flow, client, endpoints.device_authorization_endpoint,
            lambda: self._device_flow(console, endpoints.device_authorization_endpoint,
                                      endpoints.token_endpoint),
            self.transport, console, self.login_label, os.environ, port=p.redirect_port)
        grant = Grant(access_token="" if answer.refresh_token else answer.access_token,
                      refresh_token=answer.refresh_token or "",
                      expires_at=answer.expires_at, refresh_expires_at=answer.refresh_expires_at)
        return Authorization(grant=grant, token=self._token(answer))

    def _token(self, answer: rfc6749.TokenResponse) -> CachedToken:
        now = int(time.time())
        expires_at = answer.expires_at or now + DEFAULT_LIFETIME
        # api_base is configuration for this provider: read from the profile, never cached.
        return CachedToken(token=answer.access_token, expires_at=expires_at,
                           refresh_at=expires_at, minted_at=now)

    def _endpoints(self) -> rfc8414.Endpoints:
        p = self.profile
        given = rfc8414.Endpoints(p.device_authorization_url, p.token_url, p.authorization_url)
        # issue 11: discovery unless every endpoint the flow may use is configured
        if not p.issuer or (p.token_url and (p.device_authorization_url or p.flow == "browser")
                            and (p.authorization_url or p.flow == "device")):
            return given
        found = rfc8414.discover(self.transport, p.issuer,
                                 self.cache_dir / f"discovery-{p.name}.json", files.quiet)
        return rfc8414.Endpoints(p.device_authorization_url or found.device_authorization_endpoint,
                                 p.token_url or found.token_endpoint,
                                 p.authorization_url or found.authorization_endpoint)

