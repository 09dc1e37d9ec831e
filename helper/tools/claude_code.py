"""Claude Code: ``apiKeyHelper`` runs our command; ``env`` points it at the API.

Claude Code reads ``$CLAUDE_CONFIG_DIR/settings.json`` (default ``~/.claude``). Setup sets::

    "apiKeyHelper": "'/abs/path/git-credential-copilot' --profile P token --renew --min-ttl <L/3>",
    "env": {
      "ANTHROPIC_BASE_URL": "<api_base without a trailing /v1>",
      "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "<L in ms>",
      "ANTHROPIC_CUSTOM_HEADERS": "Copilot-Integration-Id: vscode-chat\\n…",  # Copilot
      "ANTHROPIC_MODEL": "<a Claude model the account offers>"              # Copilot
    }

Claude Code runs ``apiKeyHelper`` with /bin/sh at start, when the TTL has passed, and after
a 401, and never says which key failed. So the command is ``token --renew``: each run
means "the last token may be dead", and the helper hands out a new one unless one was
minted in the last minute (at most one exchange a minute however many sessions ask). The
TTL is the token's lifetime ``L``: Claude Code asks again about when the token dies, and a
token revoked earlier costs one 401, then a new one. ``--min-ttl`` (a third of ``L``)
keeps the first answer from being a token about to expire. Claude Code appends
``/v1/messages`` to the base URL itself, so a ``/v1`` the profile's ``api_base`` ends with
is left off.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .plan import JSON, Wanted
from .target import Target, choose, ttl_args

NAME = "claude-code"
MIN_TTL_SHARE = 1 / 3
# Claude models over the Messages API, newest first within each pattern; the default when
# the account's list cannot be read.
PREFER = (r"^claude-sonnet-[\d.]+$", r"^claude-sonnet-", r"^claude-opus-", r"^claude-")
DEFAULT_MODEL = "claude-sonnet-4.6"
# Variables that, when set, Claude Code uses before apiKeyHelper.
COMPETING = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY")


def config_dir(env: Mapping[str, str]) -> Path:
    value = env.get("CLAUDE_CONFIG_DIR", "")
    return Path(value) if value else Path(env.get("HOME") or Path.home()) / ".claude"


def config_path(env: Mapping[str, str], profile: str = "") -> Path:
    """The file a person looks in (the same for every profile)."""
    return config_dir(env) / "settings.json"


def base_url(api_base: str) -> str:
    base = api_base.rstrip("/")
    return base[:-len("/v1")] if base.endswith("/v1") else base


def wanted(target: Target, env: Mapping[str, str], default: bool) -> tuple[list[Wanted],
                                                                            list[str]]:
    """The keys setup writes, and lines for the person about the choices."""
    helper = target.command_line("token", "--renew", *ttl_args(target.lifetime, MIN_TTL_SHARE))
    leaves: list[tuple[tuple[str, ...], object]] = [
        (("apiKeyHelper",), helper),
        (("env", "ANTHROPIC_BASE_URL"), base_url(target.api_base)),
        (("env", "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"), str(target.lifetime * 1000)),
    ]
    notes = []
    if target.headers:
        lines = "\n".join(f"{name}: {value}" for name, value in target.headers.items())
        leaves.append((("env", "ANTHROPIC_CUSTOM_HEADERS"), lines))
    if target.is_copilot:
        model, listed = choose(target.models, "/v1/messages", PREFER, DEFAULT_MODEL)
        leaves.append((("env", "ANTHROPIC_MODEL"), model))
        notes.append(f"model {model}" + (" (offered by your account)" if listed else
                                          " (the default: your account's model list named "
                                          "no Claude model)"))
    for name in COMPETING:
        if env.get(name):
            notes.append(f"{name} is set in your environment; Claude Code uses it before "
                         "apiKeyHelper: unset it to use this set-up")
    return [Wanted(config_path(env), JSON, tuple(leaves))], notes
