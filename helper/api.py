"""The in-process API behind ``helper.get_token`` and ``helper.erase``.

Same rules as the command line: same configuration, store, cache and lock, and a device
flow only when a person can see stderr (or ``interactive = "always"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from . import broker, config
from .console import Console
from .errors import mask


@dataclass(frozen=True)
class Token:
    token: str
    expires_at: int
    api_base: str
    profile: str

    def __repr__(self) -> str:  # a token in a log line is a leaked token
        return (f"Token(token={mask(self.token)!r}, expires_at={self.expires_at}, "
                f"api_base={self.api_base!r}, profile={self.profile!r})")

    __str__ = __repr__


def _broker(profile: str | None, env: Mapping[str, str]) -> broker.Broker:
    cfg = config.load(env)
    chosen = cfg.profile(profile or cfg.profile_override or cfg.default_profile)
    console = Console(sys.stderr)
    return broker.Broker(cfg, chosen, env, console, broker.interactive(cfg, env, console))


def get_token(profile: str | None = None, env: Mapping[str, str] | None = None) -> Token:
    b = _broker(profile, os.environ if env is None else env)
    cached = b.token()
    return Token(cached.token, cached.expires_at, cached.api_base or b.profile.api_base,
                 b.profile.name)


def erase(token: str, profile: str | None = None, env: Mapping[str, str] | None = None) -> None:
    if not token:
        raise ValueError("erase() needs the token that was rejected")
    _broker(profile, os.environ if env is None else env).erase("", token)
