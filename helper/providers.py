"""The provider interface: where a profile's tokens come from.

A provider knows two kinds of credential. The *grant* is long-lived and comes from a login
(the GitHub OAuth token for Copilot, the refresh token for OAuth); it lives in the secret
store. The *token* is short-lived and is what callers get (the Copilot token, the OAuth
access token); it lives in the cache. A provider turns a grant into a token (``mint``) and
runs the login that produces a grant (``authorize``). Everything else - caching, locking,
storing, deciding when to prompt - belongs to the life cycle (lifecycle.py), the same
for every provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path

from .config import Config, Profile
from .console import Console
from .errors import CredentialError
from .records import Authorization, Grant, Minted
from .rfc6749 import TokenResponse


class GrantRevoked(CredentialError):
    """The server says the long-lived grant is dead (revoked, expired, replayed)."""


class Provider(ABC):
    kind = ""

    def __init__(self, profile: Profile, config: Config, cache_dir: Path):
        from .transport import Transport

        self.profile = profile
        self.cache_dir = cache_dir
        self.transport = Transport(timeout=config.http_timeout, budget=config.retry_budget)

    @property
    @abstractmethod
    def login_label(self) -> str:
        """What a person signs in to, for prompts: 'GitHub (github.com)'."""

    @abstractmethod
    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
        """The grants to try, best first (each says where it came from)."""

    @abstractmethod
    def mint(self, grant: Grant) -> Minted:
        """A fresh short-lived token from a grant. Raises GrantRevoked when it is dead."""

    @abstractmethod
    def authorize(self, console: Console) -> Authorization:
        """Run the interactive login (a device flow) and return its grant."""

    def _device_flow(self, console: Console, code_url: str, token_url: str) -> TokenResponse:
        """RFC 8628 with this profile's client: show the code on stderr, poll until done."""
        from . import rfc8628

        p = self.profile
        code = rfc8628.request_code(self.transport, code_url, p.client_id, p.scope,
                                    p.client_secret,
                                    extra={"audience": p.audience} if p.audience else None)
        console.show_device_code(code, self.login_label)
        try:
            return rfc8628.poll(self.transport, token_url, p.client_id, code, wait=console.wait,
                                client_secret=p.client_secret)
        finally:
            console.done_waiting()


def for_profile(profile: Profile, config: Config, cache_dir: Path) -> Provider:
    """The provider a profile names; ``cache_dir`` is for what it may re-fetch (discovery)."""
    if profile.provider == "oauth":
        from .oauth import OAuthProvider

        return OAuthProvider(profile, config, cache_dir)
    from .copilot import CopilotProvider

    return CopilotProvider(profile, config, cache_dir)
