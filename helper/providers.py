"""The provider interface: where a profile's tokens come from.

A provider knows two kinds of credential. The *grant* is long-lived and comes from a login
(the GitHub OAuth token for Copilot, the refresh token for OAuth); it lives in the secret
store. The *token* is short-lived and is what callers get (the Copilot token, the OAuth
access token); it lives in the cache. A provider turns a grant into a token (``mint``) and
runs the login that produces a grant (``authorize``). Everything else - caching, locking,
storing, deciding when to prompt - is the broker's, and is the same for every provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from .cache import CachedToken
from .config import Config, Profile
from .console import Console
from .errors import CredentialError, mask
from .rfc6749 import TokenResponse


@dataclass(frozen=True)
class Grant:
    """What a login produced; kept in the secret store."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: int | None = None
    refresh_expires_at: int | None = None
    username: str = ""

    def __repr__(self) -> str:
        return (
            f"Grant(access_token={mask(self.access_token)!r}, "
            f"refresh_token={mask(self.refresh_token)!r}, username={self.username!r})"
        )

    def to_dict(self) -> dict:
        return {"version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, raw: Mapping) -> Grant | None:
        """The grant in a stored object; None when it holds nothing usable."""
        def text(name: str) -> str:
            value = raw.get(name) or ""
            return value if isinstance(value, str) and value.isprintable() else ""

        def number(name: str) -> int | None:
            value = raw.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            return int(value)

        grant = cls(
            access_token=text("access_token"),
            refresh_token=text("refresh_token"),
            expires_at=number("expires_at"),
            refresh_expires_at=number("refresh_expires_at"),
            username=text("username"),
        )
        return grant if grant.access_token or grant.refresh_token else None


@dataclass(frozen=True)
class Source:
    """A grant and where it came from: ``store`` or the name of an environment variable."""

    grant: Grant
    origin: str

    @property
    def from_env(self) -> bool:
        return self.origin != "store"


@dataclass(frozen=True)
class Minted:
    """A fresh token, and the grant to store when minting changed it (rotation)."""

    token: CachedToken
    grant: Grant | None = None


@dataclass(frozen=True)
class Authorization:
    """What a login produced: a grant, and a first token when the flow hands one out."""

    grant: Grant
    token: CachedToken | None = None


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
    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Source]:
        """The grants to try, best first."""

    @abstractmethod
    def mint(self, source: Source) -> Minted:
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
