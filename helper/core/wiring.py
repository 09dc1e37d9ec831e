"""Wiring: the real parts of a profile's life cycle, built for one command.

The life cycle never builds its own provider, store, lock or clock: they are passed in, so
tests bring fakes and a fake clock. The real ones are built here, lazily on first use,
because the cached ``get`` must not import requests, keyring or filelock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from helper.core.lifecycle import Lifecycle, Parts
from helper.core.routing import interactive, prompt
from helper.storage import paths, state

if TYPE_CHECKING:
    from helper.console import Console
    from helper.core.config import Config, Profile
    from helper.core.lifecycle import Lock, Store
    from helper.providers.base import Provider


def real_parts(config: Config, profile: Profile, env: Mapping[str, str],
               console: Console, prompt_allowed: bool = False) -> Parts:
    """The provider the profile names, the configured store, the profile's file lock."""

    def provider() -> Provider:
        from helper.net.transport import Transport
        from helper.providers import registry

        transport = Transport(timeout=config.http_timeout, budget=config.retry_budget)
        return registry.build(profile, transport, paths.cache_dir(env), env)

    def store() -> Store:
        from helper.storage import secrets as store

        return store.choose(config.store, env, console.notice, config.keyring_timeout)

    def lock(action: str) -> Lock:
        from helper.storage.lock import ProfileLock

        # A holder with no person to wait for finishes within this: waiters wait no longer.
        wait = config.retry_budget + config.http_timeout + config.keyring_timeout
        return ProfileLock(paths.state_dir(env), profile.name, action, console.notice,
                           wait=wait, may_prompt=prompt_allowed or action == "login")

    return Parts(provider, store, lock)


def lifecycle(config: Config, profile: Profile, env: Mapping[str, str], console: Console,
              prompt_allowed: bool | None = None) -> Lifecycle:
    """The life cycle of ``profile`` with the real parts; prompts per the interactive policy
    unless ``prompt_allowed`` says otherwise."""
    allowed = interactive(config, env, console) if prompt_allowed is None else prompt_allowed
    return Lifecycle(profile.name, state.path_for(paths.state_dir(env), profile.name),
                     real_parts(config, profile, env, console, allowed), console, env,
                     prompt(config, profile, env, allowed), issuer=profile.issuer,
                     login_key=profile.login_key,
                     legacy_login=profile.on_default_server)
