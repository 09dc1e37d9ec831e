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
    """The keys every provider shares and ``settings`` (the provider's own keys, validated
    against its spec); and what the configuration derives from them with the provider's
    spec when it builds the profile: ``login_host``, the host at which git addresses the
    login itself (empty when none does), ``issuer``, a fingerprint of the server and client
    that issue its logins and tokens, and ``on_default_server``, whether the keys naming
    that server are the provider's defaults (github.com for Copilot)."""

    __slots__ = ("name", "provider", "hosts", "client_id", "client_secret", "scope", "settings",
                 "login_host", "issuer", "on_default_server")

    def __init__(self, name: str, provider: str = BUILTIN_NAME, hosts: tuple[str, ...] = (),
                 client_id: str = "", client_secret: str = "", scope: str = "",
                 settings: Mapping[str, str] | None = None):
        self.name = name
        self.provider = provider
        self.hosts = hosts
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.settings: Mapping[str, str] = settings or {}
        self.login_host = ""
        self.issuer = ""
        self.on_default_server = False

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

    def value(self, key: str) -> str:
        """A shared key's or a setting's value, as text; empty when not set."""
        return str(getattr(self, key)) if key in COMMON else self.setting(key)

    @property
    def api_base(self) -> str:
        """The API base callers should use when the token does not name one."""
        return self.setting("api_base")

    @property
    def login_key(self) -> str:
        """Where the secret store keeps this profile's login: one per server, as git's own
        stores key by host (switching the config to another server and back finds the first
        login intact)."""
        return f"{self.name}@{self.issuer}"

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
                       common["client_secret"], common["scope"], settings)

    def derived(self, login_host: str, issuer: str, on_default_server: bool) -> Profile:
        """This profile with what the configuration derives from its keys."""
        made = Profile(self.name, self.provider, self.hosts, self.client_id,
                       self.client_secret, self.scope, self.settings)
        made.login_host, made.issuer, made.on_default_server = (login_host, issuer,
                                                                on_default_server)
        return made
