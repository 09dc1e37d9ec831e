"""Configuration: an optional TOML file, environment overrides, and the built-in profile.

With no file the built-in ``copilot`` profile for github.com works. Keys given in
``[profiles.copilot]`` override the built-in ones; any other profile starts from its
provider's defaults. Every key is checked: a typo is an error naming the file and the key,
never a silent default. Only ``https://`` URLs are accepted, and ``http://`` for loopback
hosts (that is how tests point the helper at a local fake server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from helper.errors import ConfigError
from helper.net.urls import is_host, url_problem
from helper.providers import registry
from helper.providers.base import FLOW, FLOWS, HOSTS, PORT, URL, ProviderSpec
from helper.providers.profile import BUILTIN_NAME
from helper.providers.profile import Profile as Profile  # re-exported: config.Profile
from helper.storage import paths
from helper.storage.records import fingerprint, is_number

if TYPE_CHECKING:
    from typing import Any

STORES = ("auto", "keyring", "file")
INTERACTIVE = ("auto", "always", "never")
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# Every default of the top-level keys, in one place.
DEFAULTS: dict[str, str | float] = {
    "default_profile": BUILTIN_NAME, "store": "auto", "interactive": "auto",
    "http_timeout": 10.0, "retry_budget": 20.0, "keyring_timeout": 10.0,
}

def builtin(name: str, provider: str) -> Profile:
    """A profile with nothing but its provider's defaults."""
    spec = registry.spec(provider)
    return _finished(Profile(name, provider).with_values(spec.defaults), spec)


def _finished(profile: Profile, spec: ProviderSpec) -> Profile:
    """The profile with what its provider derives from its keys: the login host, the
    issuer, and whether the keys naming its server are the provider's defaults (a provider
    without defaults for them, oauth, has no default server)."""
    issuer = _issuer(profile, spec.identity)
    default = Profile(profile.name, profile.provider).with_values(spec.defaults)
    on_default = (all(key in spec.defaults for key in spec.identity)
                  and issuer == _issuer(default, spec.identity))
    return profile.derived(spec.login_host(profile), issuer, on_default)


def _issuer(profile: Profile, keys: tuple[str, ...]) -> str:
    """A fingerprint of the server and client that issue the profile's logins and tokens
    (the values of its provider's identity keys): a login or token issued under other
    values is never served or sent anywhere."""
    values = [profile.provider, *(profile.value(key) for key in keys)]
    return fingerprint("\x1f".join(values))[:16]


class Config:
    """The configuration in force. ``profiles`` maps names to Profile, in file order."""

    __slots__ = ("path", "default_profile", "store", "interactive", "http_timeout",
                 "retry_budget", "keyring_timeout", "profiles", "profile_override")

    def __init__(self, path: Path | None,
                 default_profile: str = BUILTIN_NAME,
                 store: str = str(DEFAULTS["store"]),
                 interactive: str = str(DEFAULTS["interactive"]),
                 http_timeout: float = float(DEFAULTS["http_timeout"]),
                 retry_budget: float = float(DEFAULTS["retry_budget"]),
                 keyring_timeout: float = float(DEFAULTS["keyring_timeout"]),
                 profiles: dict[str, Profile] | None = None,
                 profile_override: str = ""):
        self.path = path
        self.default_profile = default_profile
        self.store = store
        self.interactive = interactive
        self.http_timeout = http_timeout
        self.retry_budget = retry_budget
        self.keyring_timeout = keyring_timeout
        self.profiles = profiles if profiles is not None else {
            BUILTIN_NAME: builtin(BUILTIN_NAME, BUILTIN_NAME)}
        self.profile_override = profile_override

    def but(self, store: str = "", interactive: str = "", profile_override: str = "") -> Config:
        """A copy with what the environment or the command line overrides."""
        return Config(self.path, self.default_profile, store or self.store,
                      interactive or self.interactive, self.http_timeout, self.retry_budget,
                      self.keyring_timeout, self.profiles,
                      profile_override or self.profile_override)

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise ConfigError(f"no profile named {name!r} (known: {known})") from None


def load(env: Mapping[str, str]) -> Config:
    """The configuration in force: file (if any), then environment overrides."""
    path = paths.config_file(env)
    raw = _read_toml(path, explicit=bool(env.get(paths.CONFIG_VAR)))
    config = _from_toml(path, raw) if raw is not None else Config(path=path)
    return _apply_env(config, env)


def _read_toml(path: Path, explicit: bool) -> dict[str, Any] | None:
    from helper.storage import files

    try:
        data = files.read_regular(path, follow=True)  # a FIFO there must not block us
    except files.UnreadableFile as e:
        raise ConfigError(f"cannot use the config file: {e}") from e
    if data is None:
        if explicit:
            raise ConfigError(
                f"{path}: config file not found ({paths.CONFIG_VAR})"
            ) from None
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        parsed: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        return parsed
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: config file is not UTF-8") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e


def _from_toml(path: Path, raw: dict[str, Any]) -> Config:
    where = _Where(path)
    known = {*DEFAULTS, "profiles"}
    for key in raw:
        if key not in known:
            raise where.error(key, f"unknown key (known: {', '.join(sorted(known))})")
    profiles = {BUILTIN_NAME: builtin(BUILTIN_NAME, BUILTIN_NAME)}
    tables = raw.get("profiles", {})
    if not isinstance(tables, dict):
        raise where.error("profiles", "must be a table of profiles ([profiles.NAME])")
    for name, table in tables.items():
        profiles[name] = _profile(where, name, table, profiles.get(name))
    config = Config(
        path=path,
        default_profile=where.choice("default_profile", raw, None) or BUILTIN_NAME,
        store=where.choice("store", raw, STORES) or str(DEFAULTS["store"]),
        interactive=where.choice("interactive", raw, INTERACTIVE) or str(DEFAULTS["interactive"]),
        http_timeout=where.seconds("http_timeout", raw),
        retry_budget=where.seconds("retry_budget", raw),
        keyring_timeout=where.seconds("keyring_timeout", raw),
        profiles=profiles,
    )
    if config.default_profile not in profiles:
        raise where.error("default_profile", f"names no profile: {config.default_profile!r}")
    return config


def _profile(where: _Where, name: str, table: object, base: Profile | None) -> Profile:
    key = f"profiles.{name}"
    if not PROFILE_NAME.match(name):
        raise where.error(key, "profile names are letters, digits, '.', '_' and '-' (max 64)")
    if not isinstance(table, dict):
        raise where.error(key, "must be a table")
    provider = table.get("provider", base.provider if base else BUILTIN_NAME)
    if not isinstance(provider, str) or provider not in registry.names():
        raise where.error(f"{key}.provider", f"must be one of {', '.join(registry.names())}")
    if base is None or provider != base.provider:
        base = builtin(name, provider)
    spec = registry.spec(provider)
    allowed = spec.keys
    values: dict[str, object] = {}
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
    profile = _finished(base.with_values(values), spec)
    problem = spec.check(profile)
    if problem is not None:
        raise where.error(f"{key}.{problem.key}" if problem.key else key, problem.message)
    return profile


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    store = env.get(paths.STORE_VAR) or ""
    if store:
        _env_choice(paths.STORE_VAR, store, STORES)
    interactive = env.get(paths.INTERACTIVE_VAR) or ""
    if interactive:
        _env_choice(paths.INTERACTIVE_VAR, interactive, INTERACTIVE)
    profile = env.get(paths.PROFILE_VAR) or ""
    if profile and profile not in config.profiles:
        known = ", ".join(sorted(config.profiles))
        raise ConfigError(
            f"{paths.PROFILE_VAR}={profile!r} names no profile (known: {known})"
        )
    return config.but(store, interactive, profile) if store or interactive or profile else config


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

    def choice(self, key: str, raw: dict[str, Any], choices: tuple[str, ...] | None) -> str | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, str) or (choices and value not in choices):
            wanted = f"one of {', '.join(choices)}" if choices else "a string"
            raise self.error(key, f"must be {wanted}, not {value!r}")
        return value

    def seconds(self, key: str, raw: dict[str, Any]) -> float:
        value = raw.get(key, DEFAULTS[key])
        if not is_number(value) or not 0 < value <= 3600:
            raise self.error(key, f"must be a number of seconds between 0 and 3600, not {value!r}")
        return float(value)

    def value(self, key: str, value: object, kind: str) -> str | tuple[str, ...]:
        if kind == HOSTS:
            return self.hosts(key, value)
        if kind == PORT:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
                raise self.error(key, f"must be a port number 0-65535 (0: any), not {value!r}")
            return str(value)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type(value).__name__}")
        if kind == URL:
            problem = url_problem(value)
            if problem:
                raise self.error(key, problem)
            return value.rstrip("/")
        if kind == FLOW and value not in FLOWS:
            raise self.error(key, f"must be one of {', '.join(FLOWS)}, not {value!r}")
        return value

    def hosts(self, key: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
            raise self.error(key, "must be a list of host names")
        for host in value:
            if not is_host(host):
                raise self.error(key, f"{host!r} is not a host name (host or host:port, no scheme)")
        return tuple(h.lower() for h in value)
