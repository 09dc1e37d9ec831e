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

from helper.errors import CredentialError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:  # config.py reads the registry on every get: stay light
    from pathlib import Path
    from types import ModuleType

    from helper.core.config import Config, Profile
    from helper.console import Console
    from helper.storage.records import Authorization, Grant, Minted, Token
    from helper.oauth2.rfc6749 import TokenResponse

# Provider name (the ``provider`` key of a profile) -> the module that implements it. Each
# module declares KEYS (its config keys and their kinds), DEFAULTS, check(profile) (a
# problem across keys, or None), login_host(profile) and PROVIDER (its Provider class).
REGISTRY = {"copilot": "helper.providers.copilot", "oauth": "helper.providers.oauth"}


def plugin(kind: str) -> ModuleType:
    """The module of provider ``kind`` (a name in REGISTRY)."""
    import importlib

    return importlib.import_module(REGISTRY[kind])


class GrantRevoked(CredentialError):
    """The server says the long-lived grant is dead (revoked, expired, replayed)."""


class Provider(ABC):
    kind = ""
    # Environment variables that, when set, come before the stored login (copilot:
    # COPILOT_GITHUB_TOKEN); a token minted from another login is not served while one is.
    env_overrides: tuple[str, ...] = ()

    def __init__(self, profile: Profile, config: Config, cache_dir: Path,
                 env: Mapping[str, str] | None = None):
        from helper.net.transport import Transport

        self.profile = profile
        self.cache_dir = cache_dir
        self.env: Mapping[str, str] = env if env is not None else {}
        self.transport = Transport(timeout=config.http_timeout, budget=config.retry_budget)

    @property
    @abstractmethod
    def login_label(self) -> str:
        """What a person signs in to, for prompts: 'GitHub (github.com)'."""

    @abstractmethod
    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
        """The grants to try, best first (each says where it came from)."""

    def refusal_hint(self, token: str) -> str:
        """Why the server may refuse a login of this kind, for messages; "" when unknown."""
        return ""

    @abstractmethod
    def mint(self, grant: Grant) -> Minted:
        """A fresh short-lived token from a grant. Raises GrantRevoked when it is dead."""

    def accepts(self, token: Token) -> bool:
        """Does the API still accept ``token``? One cheap authenticated request, for callers
        that cannot say whether their token was rejected (``token --renew``). False when
        the provider has no such request: the caller's word is taken."""
        return False

    @abstractmethod
    def authorize(self, console: Console) -> Authorization:
        """Run the interactive login (a device flow) and return its grant."""

    def device_extra(self) -> dict[str, str]:
        """Extra parameters of the device authorization request (none unless overridden)."""
        return {}

    def _device_flow(self, console: Console, code_url: str, token_url: str) -> TokenResponse:
        """RFC 8628 with this profile's client: show the code on stderr, poll until done."""
        from helper.oauth2 import rfc8628

        p = self.profile
        code = rfc8628.request_code(self.transport, code_url, p.client_id, p.scope,
                                    p.client_secret, extra=self.device_extra() or None)
        console.show_device_code(code, self.login_label)
        try:
            return rfc8628.poll(self.transport, token_url, p.client_id, code, wait=console.wait,
                                client_secret=p.client_secret)
        finally:
            console.done_waiting()


def for_profile(profile: Profile, config: Config, cache_dir: Path,
                env: Mapping[str, str] | None = None) -> Provider:
    """The provider a profile names; ``cache_dir`` is for what it may re-fetch (discovery);
    ``env`` is what a login may consult (is there a display for a browser?)."""
    provider: Provider = plugin(profile.provider).PROVIDER(profile, config, cache_dir, env)
    return provider
