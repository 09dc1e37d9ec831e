"""What a tool's settings are made from: the profile, its API, its tokens' lifetime, the
models it offers, and the absolute path of our command.

The command line measures these once (a token, and ``GET {api_base}/models``) and hands
them to the tool modules, which only turn them into settings: they never talk to a server.

``--min-ttl`` must be one the server can meet: a token is minted with its full lifetime
``L`` (``expires_at`` minus the moment it was minted; a Copilot token lives about 30
minutes, a Keycloak access token 5), and asking for more than ``L`` left fails every time.
Each tool takes a share of ``L`` that fits how it holds a token (``min_ttl``).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from helper.storage.records import EXPIRY_MARGIN

COPILOT, OAUTH = "copilot", "oauth"
TERMS_LINE = ("GitHub's terms for Copilot govern using your Copilot account from this tool "
              "(https://docs.github.com/site-policy/github-terms/github-terms-for-additional-"
              "products-and-features#github-copilot)")


@dataclass(frozen=True)
class Target:
    profile: str  # the helper's profile name
    provider: str  # COPILOT or OAUTH
    api_base: str  # the API the tool calls, as the token (or the profile) names it
    lifetime: int  # seconds a freshly minted token lives
    command: str  # the absolute path of git-credential-copilot
    timeout: int  # seconds the longest token call can take (a refresh behind a lock)
    models: Sequence[dict[str, Any]] | None = None  # the API's model list; None: unknown
    headers: dict[str, str] = field(default_factory=dict)  # extra headers the API wants

    @property
    def is_copilot(self) -> bool:
        return self.provider == COPILOT

    def argv(self, *args: str) -> list[str]:
        """Our command's arguments for this profile, e.g. ``--profile P token --renew``."""
        return ["--profile", self.profile, *args]

    def command_line(self, *args: str) -> str:
        """The whole command as one shell-quoted line (for tools that run it with sh)."""
        return " ".join(shlex.quote(part) for part in (self.command, *self.argv(*args)))


def round_lifetime(seconds: float) -> int:
    """A measured lifetime to the nearest minute (nearest 10 s under 10 minutes): the
    server's clock has whole seconds, so two tokens of one server measure 1799 or 1800 s,
    and a second setup must write what the first did."""
    step = 60 if seconds >= 600 else 10
    return max(0, round(seconds / step) * step)


def min_ttl(lifetime: int, share: float) -> int:
    """``share`` of the token lifetime, in whole tens of seconds; 0 (no --min-ttl) when
    that would leave less than a minute, or more than a fresh token can meet."""
    seconds = round(lifetime * share / 10) * 10
    if seconds < 60 or seconds > lifetime - EXPIRY_MARGIN:
        return 0
    return seconds


def ttl_args(lifetime: int, share: float) -> list[str]:
    seconds = min_ttl(lifetime, share)
    return ["--min-ttl", str(seconds)] if seconds else []


def model_ids(models: Sequence[dict[str, Any]] | None) -> list[str]:
    """The ids of the models an account may use: enabled by policy where the API says."""
    ids = []
    for model in models or ():
        policy = model.get("policy")
        if isinstance(policy, dict) and policy.get("state") not in (None, "enabled"):
            continue
        if isinstance(model.get("id"), str) and model["id"].isprintable():
            ids.append(model["id"])
    return ids


def serves(model: dict[str, Any], endpoint: str) -> bool:
    """Does the model answer at ``endpoint`` (Copilot lists ``supported_endpoints``; a
    model that lists none is taken to answer everywhere)."""
    endpoints = model.get("supported_endpoints")
    return not isinstance(endpoints, list) or endpoint in endpoints


def choose(models: Sequence[dict[str, Any]] | None, endpoint: str,
           prefer: Sequence[str], default: str) -> tuple[str, bool]:
    """The model to name: one the account offers at ``endpoint`` matching the first of the
    ``prefer`` patterns that any matches, the newest version of those; else ``default``.
    Also: whether it came from the account's list."""
    import re

    ids = model_ids(models)
    offered = [str(m["id"]) for m in models or () if m.get("id") in ids and serves(m, endpoint)]
    for pattern in prefer:
        matches = [i for i in offered if re.search(pattern, i)]
        if matches:
            return max(matches, key=_version), True
    return default, False


def _version(model_id: str) -> tuple[int, ...]:
    """``claude-sonnet-4.5`` -> (4, 5): the numbers in an id, for picking the newest."""
    import re

    return tuple(int(n) for n in re.findall(r"\d+", model_id))
