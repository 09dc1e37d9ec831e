"""Routing: which profile answers for a host, over which transport, and whether it may prompt.

``--profile``/the environment win; else the profile claiming the host; else the default.
A token only ever goes to a host its profile claims, over https (or http to loopback), and a
login prompt only appears where a person can see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from helper.core import cachefiles, routes
from helper.core.cachefiles import RouteKey
from helper.core.lifecycle import Prompt
from helper.errors import StoreError
from helper.net.urls import host_of, transport_ok
from helper.storage import paths, private
from helper.storage import state as statefile
from helper.storage.files import quiet

if TYPE_CHECKING:
    from pathlib import Path

    from helper.console import Console
    from helper.core.config import Config, Profile

__all__ = ["choose_profile", "interactive", "prompt", "transport_ok"]


def interactive(config: Config, env: Mapping[str, str], console: Console) -> bool:
    """May we show a device-code prompt? Never when git says no prompts."""
    if env.get("GIT_TERMINAL_PROMPT") == "0" or config.interactive == "never":
        return False
    return config.interactive == "always" or console.is_terminal


def prompt(config: Config, profile: Profile, env: Mapping[str, str], allowed: bool) -> Prompt:
    """The prompt policy for one command, with the words for when it forbids a login."""
    why_not = " and no prompt may be shown here"
    if env.get("GIT_TERMINAL_PROMPT") == "0":
        why_not = " and GIT_TERMINAL_PROMPT=0 forbids a prompt"
    flag = "" if profile.name == config.default_profile else f"--profile {profile.name} "
    return Prompt(allowed, why_not, f"git-credential-copilot {flag}login")


def table(config: Config) -> routes.RouteTable:
    """The configuration as routing sees it: the default profile first, then file order."""
    first = config.profile(config.default_profile)
    order = [first, *(p for p in config.profiles.values() if p is not first)]
    return routes.RouteTable(
        [routes.Route(p.name, p.issuer, p.api_base, p.hosts, p.login_host) for p in order],
        config.profile_override)


def choose_profile(
    config: Config, host: str, env: Mapping[str, str], include_login: bool = False
) -> Profile | None:
    """The profile that answers for ``host``, or None when no profile may hand it a token
    (the rule: ``core.routes.choose``). ``store`` and ``erase`` also address a profile at its
    login host (github.com) to import or drop a login."""
    state_dir = paths.state_dir(env)
    choice = routes.choose(table(config), host.lower(),
                           lambda name: api_host(config.profile(name), state_dir),
                           include_login=include_login)
    return None if choice is None else config.profile(choice.route.name)


def save_routes(key: RouteKey | None, config: Config, env: Mapping[str, str],
                notice: Callable[[str], None]) -> None:
    """Save the routes for the cached ``get`` after a successful route, under ``key`` (taken
    before the config was read), unless the config had changed too recently for a change to
    be seen (``cachefiles.RACY``). A failure costs speed only."""
    if key is None or not key.settled:
        return
    state_dir = paths.state_dir(env)
    remembered = {p.name: api_host(p, state_dir) for p in config.profiles.values()}
    text = cachefiles.encode_routes(key, table(config), remembered)
    if text is None:
        return
    path = cachefiles.routes_file(str(state_dir), key)
    try:
        if private.read_private(path) == text.encode("utf-8"):
            return
    except StoreError:
        pass
    try:
        private.write_private(path, text.encode("utf-8"), notice, durable=False)
    except StoreError:
        pass


def at_login_host(profile: Profile, host: str) -> bool:
    """Does git address the profile's login itself (github.com), not a token?"""
    return bool(host) and host.lower() == profile.login_host


def api_host(profile: Profile, state_dir: Path) -> str:
    """The host of the API base the provider last named (endpoints.api), kept in the state."""
    api_base = statefile.read(statefile.path_for(state_dir, profile.name), quiet).api_base
    return host_of(api_base) if api_base else ""
