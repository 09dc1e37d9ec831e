"""Configuration: an optional TOML file, environment overrides, and the built-in profile.

With no file the built-in ``copilot`` profile for github.com works. Keys given in
``[profiles.copilot]`` override the built-in ones; any other profile starts from its
provider's defaults. Every key is checked: a typo is an error naming the file and the key,
never a silent default. Only ``https://`` URLs are accepted, and ``http://`` for loopback
hosts (that is how tests point the helper at a local fake server).
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

from . import paths
from .errors import ConfigError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from typing import Any

STORES = ("auto", "keyring", "file")
INTERACTIVE = ("auto", "always", "never")
PROVIDERS = ("copilot", "oauth")
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$")

COPILOT_HOSTS = (
    "api.githubcopilot.com",
    "api.individual.githubcopilot.com",
    "api.business.githubcopilot.com",
    "api.enterprise.githubcopilot.com",
)


_PROFILE_FIELDS = (
    "name", "provider", "hosts", "client_id", "client_secret", "scope",
    "github_url", "api_url",  # copilot
    "issuer", "device_authorization_url", "token_url", "api_base", "audience",  # oauth
)


# Records on the cached path are namedtuples: importing dataclasses costs ~9 ms.
class Profile(namedtuple("Profile", _PROFILE_FIELDS, defaults=("copilot", ()) + ("",) * 10)):
    """One named source of tokens. Which keys apply depends on ``provider``."""

    __slots__ = ()

    def __repr__(self) -> str:  # a repr ends up in logs: never the client secret
        from .errors import mask

        shown = self._replace(client_secret=mask(self.client_secret) if self.client_secret else "")
        fields = zip(self._fields, shown, strict=True)
        return "Profile(" + ", ".join(f"{k}={v!r}" for k, v in fields) + ")"

    @property
    def login_host(self) -> str:
        """The host ``store``/``erase`` address to import or drop the login itself."""
        return host_of(self.github_url) if self.provider == "copilot" else ""


PROVIDER_DEFAULTS: dict[str, dict[str, Any]] = {
    "copilot": {
        "github_url": "https://github.com",
        "api_url": "https://api.github.com",
        "client_id": "Iv1.b507a08c87ecfe98",
        "scope": "read:user",
        "hosts": COPILOT_HOSTS,
    },
    "oauth": {"scope": "openid offline_access"},
}

# Which keys each provider accepts, and of what kind.
_URL, _STR, _HOSTS = "url", "str", "hosts"
PROVIDER_KEYS: dict[str, dict[str, str]] = {
    "copilot": {
        "github_url": _URL, "api_url": _URL, "client_id": _STR, "scope": _STR, "hosts": _HOSTS,
    },
    "oauth": {
        "issuer": _URL, "device_authorization_url": _URL, "token_url": _URL,
        "client_id": _STR, "client_secret": _STR, "scope": _STR, "hosts": _HOSTS,
        "api_base": _URL, "audience": _STR,
    },
}

BUILTIN = Profile(name="copilot", **PROVIDER_DEFAULTS["copilot"])


_CONFIG_FIELDS = ("path", "default_profile", "store", "interactive", "http_timeout",
                  "retry_budget", "keyring_timeout", "profiles", "profile_override")


class Config(namedtuple("Config", _CONFIG_FIELDS,
                        defaults=("copilot", "auto", "auto", 10.0, 20.0, 10.0, None, ""))):
    """The configuration in force. ``profiles`` maps names to Profile, in file order."""

    __slots__ = ()

    def __new__(cls, path: Path, *args: Any, **kwargs: Any) -> Config:
        self = super().__new__(cls, path, *args, **kwargs)
        return self if self.profiles is not None else self._replace(profiles={"copilot": BUILTIN})

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise ConfigError(f"no profile named {name!r} (known: {known})") from None


def load(env: Mapping[str, str]) -> Config:
    """The configuration in force: file (if any), then environment overrides."""
    path = paths.config_file(env)
    raw = _read_toml(path, explicit=bool(env.get("GIT_CREDENTIAL_COPILOT_CONFIG")))
    config = _from_toml(path, raw) if raw is not None else Config(path=path)
    return _apply_env(config, env)


def _read_toml(path: Path, explicit: bool) -> dict | None:
    from . import files

    try:
        data = files.read_regular(path, follow=True)  # a FIFO there must not block us
    except files.UnreadableFile as e:
        raise ConfigError(f"cannot use the config file: {e}") from e
    if data is None:
        if explicit:
            raise ConfigError(
                f"{path}: config file not found (GIT_CREDENTIAL_COPILOT_CONFIG)"
            ) from None
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: config file is not UTF-8") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e


def _from_toml(path: Path, raw: dict) -> Config:
    where = _Where(path)
    known = {"default_profile", "store", "interactive", "http_timeout", "retry_budget",
             "keyring_timeout", "profiles"}
    for key in raw:
        if key not in known:
            raise where.error(key, f"unknown key (known: {', '.join(sorted(known))})")
    profiles = {"copilot": BUILTIN}
    tables = raw.get("profiles", {})
    if not isinstance(tables, dict):
        raise where.error("profiles", "must be a table of profiles ([profiles.NAME])")
    for name, table in tables.items():
        profiles[name] = _profile(where, name, table)
    config = Config(
        path=path,
        default_profile=where.choice("default_profile", raw, None) or "copilot",
        store=where.choice("store", raw, STORES) or "auto",
        interactive=where.choice("interactive", raw, INTERACTIVE) or "auto",
        http_timeout=where.seconds("http_timeout", raw, 10.0),
        retry_budget=where.seconds("retry_budget", raw, 20.0),
        keyring_timeout=where.seconds("keyring_timeout", raw, 10.0),
        profiles=profiles,
    )
    if config.default_profile not in profiles:
        raise where.error("default_profile", f"names no profile: {config.default_profile!r}")
    return config


def _profile(where: _Where, name: str, table: Any) -> Profile:
    key = f"profiles.{name}"
    if not PROFILE_NAME.match(name):
        raise where.error(key, "profile names are letters, digits, '.', '_' and '-' (max 64)")
    if not isinstance(table, dict):
        raise where.error(key, "must be a table")
    base = BUILTIN if name == "copilot" else None
    provider = table.get("provider", base.provider if base else "copilot")
    if provider not in PROVIDERS:
        raise where.error(f"{key}.provider", f"must be one of {', '.join(PROVIDERS)}")
    if base is None or provider != base.provider:
        base = Profile(name=name, provider=provider, **PROVIDER_DEFAULTS[provider])
    allowed = PROVIDER_KEYS[provider]
    values: dict[str, Any] = {}
    for field_name, value in table.items():
        if field_name == "provider":
            continue
        kind = allowed.get(field_name)
        if kind is None:
            raise where.error(
                f"{key}.{field_name}",
                f"unknown key for provider {provider!r} (known: {', '.join(sorted(allowed))})",
            )
        values[field_name] = where.value(f"{key}.{field_name}", value, kind)
    profile = base._replace(**values)
    if provider == "oauth":
        _check_oauth(where, key, profile)
    return profile


def _check_oauth(where: _Where, key: str, profile: Profile) -> None:
    if not profile.client_id:
        raise where.error(f"{key}.client_id", "is required for provider 'oauth'")
    if not profile.issuer and not (profile.device_authorization_url and profile.token_url):
        raise where.error(
            key, "needs issuer, or both device_authorization_url and token_url"
        )


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    changes: dict[str, Any] = {}
    store = env.get("GIT_CREDENTIAL_COPILOT_STORE")
    if store:
        changes["store"] = _env_choice("GIT_CREDENTIAL_COPILOT_STORE", store, STORES)
    interactive = env.get("GIT_CREDENTIAL_COPILOT_INTERACTIVE")
    if interactive:
        changes["interactive"] = _env_choice(
            "GIT_CREDENTIAL_COPILOT_INTERACTIVE", interactive, INTERACTIVE
        )
    profile = env.get("GIT_CREDENTIAL_COPILOT_PROFILE")
    if profile:
        if profile not in config.profiles:
            known = ", ".join(sorted(config.profiles))
            raise ConfigError(
                f"GIT_CREDENTIAL_COPILOT_PROFILE={profile!r} names no profile (known: {known})"
            )
        changes["profile_override"] = profile
    return config._replace(**changes) if changes else config


def _env_choice(var: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{var}={value!r} is not one of {', '.join(choices)}")
    return value


class _Where:
    """Builds errors that name the file and the key, and checks values by kind."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def choice(self, key: str, raw: dict, choices: tuple[str, ...] | None) -> str | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, str) or (choices and value not in choices):
            wanted = f"one of {', '.join(choices)}" if choices else "a string"
            raise self.error(key, f"must be {wanted}, not {value!r}")
        return value

    def seconds(self, key: str, raw: dict, default: float) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
            raise self.error(key, f"must be a number of seconds between 0 and 3600, not {value!r}")
        return float(value)

    def value(self, key: str, value: Any, kind: str) -> Any:
        if kind == _HOSTS:
            return self.hosts(key, value)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type(value).__name__}")
        if kind == _URL:
            problem = url_problem(value)
            if problem:
                raise self.error(key, problem)
            return value.rstrip("/")
        return value

    def hosts(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
            raise self.error(key, "must be a list of host names")
        for host in value:
            if not HOST.match(host):
                raise self.error(key, f"{host!r} is not a host name (host or host:port, no scheme)")
        return tuple(h.lower() for h in value)


def url_problem(url: str) -> str:
    """Why ``url`` may not be used for secrets; empty when it may."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{url!r} is not a valid URL"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return f"{url!r} contains whitespace or control characters"
    if parts.username or parts.password:
        return "URLs with a user name or password are not allowed"
    if parts.scheme == "https" and host:
        return ""
    if parts.scheme == "http" and host and is_loopback(host):
        return ""
    if parts.scheme == "http":
        return f"{url!r}: plain http:// is only allowed for loopback hosts; use https://"
    return f"{url!r} is not an https:// URL"


def is_loopback(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, lower case; the form the credential protocol uses."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1].lower()
