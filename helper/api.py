"""The in-process API behind ``helper.get_token`` and ``helper.erase``.

Same rules as the command line: same configuration, store, cache and lock, and a device
flow only when a person can see stderr (or ``interactive = "always"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from helper.console import Console
from helper.core import config, wiring
from helper.errors import mask

if TYPE_CHECKING:
    from helper.core.lifecycle import Lifecycle


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


def _lifecycle(profile: str | None, env: Mapping[str, str]) -> tuple[Lifecycle, str]:
    cfg = config.load(env)
    chosen = cfg.profile(profile or cfg.profile_override or cfg.default_profile)
    return wiring.lifecycle(cfg, chosen, env, Console(sys.stderr)), chosen.api_base


def get_token(profile: str | None = None, env: Mapping[str, str] | None = None) -> Token:
    lc, api_base = _lifecycle(profile, os.environ if env is None else env)
    token = lc.token()
    return Token(token.token, token.expires_at, token.api_base or api_base, lc.name)


def erase(token: str, profile: str | None = None, env: Mapping[str, str] | None = None) -> None:
    if not token:
        raise ValueError("erase() needs the token that was rejected")
    _lifecycle(profile, os.environ if env is None else env)[0].erase(token)
