"""Routing: which profile answers for a host, over which transport, and whether it may prompt.

``--profile``/the environment win; else the profile claiming the host; else the default.
A token only ever goes to a host its profile claims, over https (or http to loopback), and a
login prompt only appears where a person can see it.
"""

from __future__ import annotations

from collections.abc import Mapping

from helper.storage import paths
from helper.storage import state as statefile
from helper.storage.files import quiet
from helper.core.lifecycle import Prompt
from helper.net.urls import host_of, transport_ok

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from pathlib import Path

    from helper.core.config import Config, Profile
    from helper.console import Console

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


def choose_profile(
    config: Config, host: str, env: Mapping[str, str], include_login: bool = False
) -> Profile | None:
    """The profile that answers for ``host``, or None when no profile may hand it a token.

    Whatever is chosen must claim the host (unless no host was given at all). ``store`` and
    ``erase`` also address a profile at its login host (github.com) to import or drop a login.
    """
    host = host.lower()
    state_dir = paths.state_dir(env)
    if config.profile_override:
        chosen = config.profile(config.profile_override)
        candidates = [chosen] if host else []
    else:
        chosen = config.profile(config.default_profile)
        candidates = [chosen, *(p for p in config.profiles.values() if p is not chosen)]
    if not host:
        return chosen
    # Configured hosts first (no file to read), then the API host each profile last used.
    for profile in candidates:
        if host in profile.hosts or (include_login and host == profile.login_host):
            return profile
    for profile in candidates:
        if api_host(profile, state_dir) == host:
            return profile
    return None


def at_login_host(profile: Profile, host: str) -> bool:
    """Does git address the profile's login itself (github.com), not a token?"""
    return bool(host) and host.lower() == profile.login_host


def api_host(profile: Profile, state_dir: Path) -> str:
    """The host of the API base the provider last named (endpoints.api), kept in the state."""
    api_base = statefile.read(statefile.path_for(state_dir, profile.name), quiet).api_base
    return host_of(api_base) if api_base else ""
