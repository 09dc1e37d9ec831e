"""OpenAI Codex CLI: a model provider whose bearer token comes from our command.

Codex reads ``$CODEX_HOME/config.toml`` (default ``~/.codex``). Setup adds, for profile P
(provider id P, with characters other than letters, digits, ``-`` and ``_`` made ``-``)::

    [model_providers.P]
    name = "… (git-credential-copilot)"
    base_url = "<api_base>"
    wire_api = "responses"                 # the only wire API Codex accepts now
    http_headers = { … }                   # Copilot: the editor headers it expects

    [model_providers.P.auth]
    command = "/abs/path/git-credential-copilot"
    args = ["--profile", "P", "token", "--renew", "--min-ttl", "<L/3>"]
    timeout_ms = <the longest a token call can take>
    refresh_interval_ms = 0

Codex keeps the token until a request gets 401, then runs the command again: with
``refresh_interval_ms = 0`` every run means "the last token was rejected", which is what
``--renew`` handles (a new token, unless one was minted in the last minute). ``--min-ttl``
(a third of the token's lifetime) makes each token good for a while after Codex gets it.

Which provider Codex uses is not changed: a profile file ``$CODEX_HOME/P.config.toml``
(Codex 0.134 and later layer it over config.toml for ``codex --profile P``) selects the
provider and, for Copilot, a model the account offers over the Responses API. With
``--default``, ``model_provider`` and ``model`` are set at the top of config.toml instead
(teardown puts back what was there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .plan import TOML, Wanted
from .target import Target, choose, ttl_args

NAME = "codex"
WIRE_API = "responses"
MIN_TTL_SHARE = 1 / 3
# Responses-API models, newest first within each pattern; the default when the account's
# list cannot be read.
PREFER = (r"^gpt-[\d.]+-codex$", r"^gpt-[\d.]+-codex", r"^gpt-[\d.]+$")
DEFAULT_MODEL = "gpt-5-codex"


def home(env: Mapping[str, str]) -> Path:
    value = env.get("CODEX_HOME", "")
    return Path(value) if value else Path(env.get("HOME") or Path.home()) / ".codex"


def config_path(env: Mapping[str, str], profile: str = "") -> Path:
    """The file a person looks in (the same for every profile)."""
    return home(env) / "config.toml"


def provider_id(target: Target) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", target.profile)


def wanted(target: Target, env: Mapping[str, str], default: bool) -> tuple[list[Wanted],
                                                                            list[str]]:
    """The files and keys setup writes, and lines for the person about the choices."""
    pid = provider_id(target)
    provider = ("model_providers", pid)
    leaves: list[tuple[tuple[str, ...], object]] = [
        ((*provider, "name"), f"{'GitHub Copilot' if target.is_copilot else pid} "
                              "(git-credential-copilot)"),
        ((*provider, "base_url"), target.api_base),
        ((*provider, "wire_api"), WIRE_API),
    ]
    if target.headers:
        leaves.append(((*provider, "http_headers"), dict(target.headers)))
    auth = (*provider, "auth")
    leaves += [
        ((*auth, "command"), target.command),
        ((*auth, "args"), target.argv("token", "--renew",
                                      *ttl_args(target.lifetime, MIN_TTL_SHARE))),
        ((*auth, "timeout_ms"), target.timeout * 1000),
        ((*auth, "refresh_interval_ms"), 0),
    ]
    choice: list[tuple[tuple[str, ...], object]] = [(("model_provider",), pid)]
    notes = []
    if target.is_copilot:
        model, listed = choose(target.models, "/responses", PREFER, DEFAULT_MODEL)
        choice.append((("model",), model))
        notes.append(f"model {model}" + (" (offered by your account over the Responses API)"
                                          if listed else " (the default: your account's model "
                                          "list did not name a Responses API model)"))
    files = [Wanted(config_path(env), TOML, tuple(leaves + (choice if default else [])))]
    if default:
        notes.append(f"Codex now uses provider {pid} by default (--default)")
    else:
        files.append(Wanted(home(env) / f"{pid}.config.toml", TOML, tuple(choice)))
        notes.append(f"start it with: codex --profile {pid}   (your default provider is "
                     "unchanged; --default makes this one the default)")
    return files, notes
