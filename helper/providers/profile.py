"""A profile: one named source of tokens, as the configuration describes it.

A plain value: the configuration builds it (core/config.py checks every key against the
provider's spec), providers read it. It sits below both so that neither imports the other:
the configuration needs the providers' specs, the providers need this.
"""

from __future__ import annotations

from collections.abc import Mapping

BUILTIN_NAME = "copilot"  # the profile (and provider) that works with no file at all
COMMON = ("hosts", "client_id", "client_secret", "scope")  # keys every provider shares


class Profile:
    """The keys every provider shares, ``settings`` (the provider's own keys, validated
    against its spec) and ``login_host``, the host at which git addresses the login itself
    (derived by the provider's spec when the configuration builds the profile; empty when
    no host stands for the login)."""

    __slots__ = ("name", "provider", "hosts", "client_id", "client_secret", "scope", "settings",
                 "login_host")

    def __init__(self, name: str, provider: str = BUILTIN_NAME, hosts: tuple[str, ...] = (),
                 client_id: str = "", client_secret: str = "", scope: str = "",
                 settings: Mapping[str, str] | None = None, login_host: str = ""):
        self.name = name
        self.provider = provider
        self.hosts = hosts
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.settings: Mapping[str, str] = settings or {}
        self.login_host = login_host

    def __repr__(self) -> str:  # a repr ends up in logs: never the client secret
        from helper.errors import mask

        secret = mask(self.client_secret) if self.client_secret else ""
        return (f"Profile(name={self.name!r}, provider={self.provider!r}, hosts={self.hosts!r}, "
                f"client_id={self.client_id!r}, client_secret={secret!r}, "
                f"scope={self.scope!r}, settings={dict(self.settings)!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and repr(self) == repr(other) and (
            self.client_secret == other.client_secret)

    __hash__ = None  # type: ignore[assignment]

    def setting(self, key: str) -> str:
        """A provider setting; empty when not set."""
        return self.settings.get(key, "")

    @property
    def api_base(self) -> str:
        """The API base callers should use when the token does not name one."""
        return self.setting("api_base")

    def with_values(self, values: Mapping[str, object]) -> Profile:
        """This profile with ``values`` (already checked) for shared keys and settings."""
        common = {key: getattr(self, key) for key in COMMON}
        settings = dict(self.settings)
        for key, value in values.items():
            if key in COMMON:
                common[key] = value
            else:
                settings[key] = str(value)
        return Profile(self.name, self.provider, common["hosts"], common["client_id"],
                       common["client_secret"], common["scope"], settings, self.login_host)

    def with_login_host(self, login_host: str) -> Profile:
        """This profile with its login host (what its provider's spec derives from it)."""
        return Profile(self.name, self.provider, self.hosts, self.client_id,
                       self.client_secret, self.scope, self.settings, login_host)
