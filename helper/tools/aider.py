"""aider: a launcher, because aider has no token command.

aider reads its key once, at start (``OPENAI_API_KEY``), so nothing in its own config can
hand it a fresh token. Setup writes a launcher instead, ``~/.local/bin/aider-P`` for
profile P (``aider-copilot`` for the built-in profile), which asks our command for a token
with two thirds of a token's lifetime left (``--min-ttl``: a session starts with most of
a token's life), exports it with the API base the token names, and runs aider. For a
Copilot profile it also names a model (``openai/$COPILOT_MODEL``, default: one the account
offers) and a model-settings file (``$XDG_DATA_HOME/git-credential-copilot/
aider-P.model-settings.yml``) whose special ``aider/extra_params`` entry sends the editor
headers the Copilot API expects with every model. aider's own config files are not
touched. Both files are ours alone: teardown deletes them if they are as setup wrote them.

Limit: when the token expires mid-session aider gets 401; quit and start the launcher
again (the next start gets a fresh token at once).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path

from helper.storage import paths

from .plan import FILE, Wanted
from .target import Target, choose, min_ttl

NAME = "aider"
MIN_TTL_SHARE = 2 / 3
# Chat-completions models, newest first within each pattern; the default when the
# account's list cannot be read.
PREFER = (r"^claude-sonnet-[\d.]+$", r"^gpt-[\d.]+$", r"^gpt-4o$")
DEFAULT_MODEL = "gpt-4.1"


def bin_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home()) / ".local" / "bin"


def launcher_path(env: Mapping[str, str], profile: str) -> Path:
    return bin_dir(env) / f"aider-{profile}"


def config_path(env: Mapping[str, str], profile: str = "copilot") -> Path:
    """The file a person looks in: the profile's launcher."""
    return launcher_path(env, profile)


def settings_path(env: Mapping[str, str], profile: str) -> Path:
    return paths.data_dir(env) / f"aider-{profile}.model-settings.yml"


def wanted(target: Target, env: Mapping[str, str], default: bool) -> tuple[list[Wanted],
                                                                            list[str]]:
    """The launcher (and for Copilot the model settings), and lines for the person."""
    seconds = min_ttl(target.lifetime, MIN_TTL_SHARE)
    token_args = ["token", "--format", "env"] + (["--min-ttl", str(seconds)] if seconds else [])
    lines = [
        "#!/bin/sh",
        f"# aider with {'GitHub Copilot' if target.is_copilot else target.api_base} "
        f"(git-credential-copilot profile {target.profile}).",
        "# Written by `git-credential-copilot setup aider`; `git-credential-copilot teardown "
        "aider` removes it.",
        "# aider reads its key once, at start: this asks for a token with at least "
        f"{seconds // 60} min left." if seconds else
        "# aider reads its key once, at start: this asks for a fresh token.",
        "# aider exits 0 even when its requests failed: it logs them to a private file here,",
        "# and when one never completed (401/403 \"token expired\") this erases that token,",
        "# says so and exits 1, so the next start gets a new one.",
    ]
    files = []
    notes = [f"sessions start with a token at least {seconds // 60} min from expiry; after a "
             "rejected token the launcher exits 1 and the next start gets a new one"]
    run = ['"${AIDER:-aider}"']
    if target.is_copilot:
        model, listed = choose(target.models, "/chat/completions", PREFER, DEFAULT_MODEL)
        settings = settings_path(env, target.profile)
        lines.append(f"#   COPILOT_MODEL  the model (default {model})")
        run += [f'--model "openai/${{COPILOT_MODEL:-{model}}}"',
                "--model-settings-file", shlex.quote(str(settings))]
        files.append(Wanted(settings, FILE, content=_model_settings(target.headers)))
        notes.append(f"model {model}" + (" (offered by your account)" if listed else
                                          " (the default: your account's model list named "
                                          "none of the preferred ones)"))
    else:
        notes.append("pass aider --model openai/<a model your gateway serves>")
    launcher = launcher_path(env, target.profile)
    lines += [
        "set -eu",
        f"env_lines=$({target.command_line(*token_args)}) || exit 1",
        'eval "$env_lines"',
        "export OPENAI_API_BASE OPENAI_API_KEY",
        f'dir=$(mktemp -d "${{TMPDIR:-/tmp}}/aider-{target.profile}.XXXXXX")',
        "trap 'rm -rf \"$dir\"' EXIT",
        "trap ':' INT  # Ctrl-C is aider's: the check below still runs",
        "status=0",
        " ".join(run) + ' --analytics-log "$dir/events" "$@" || status=$?',
        "started=$(grep -c '\"event\": \"message_send_starting\"' \"$dir/events\""
        " 2>/dev/null || true)",
        "answered=$(grep -c '\"event\": \"message_send\",' \"$dir/events\" 2>/dev/null"
        " || true)",
        'if [ "$(( ${started:-0} - ${answered:-0} ))" -gt 0 ]; then',
        f'  printf \'password=%s\\n\\n\' "$OPENAI_API_KEY" | {target.command_line("erase")}'
        " || true",
        f'  echo "aider-{target.profile}: a request to the API failed (see aider\'s message '
        f'above); the token is dropped: start aider-{target.profile} again for a new one" >&2',
        '  [ "$status" -ne 0 ] || status=1',
        "fi",
        'exit "$status"',
    ]
    files.insert(0, Wanted(launcher, FILE, content="\n".join(lines) + "\n", mode=0o755))
    notes.append(f"start it with: {launcher.name}" + (
        "" if str(launcher.parent) in env.get("PATH", "").split(":")
        else f"   ({launcher.parent} is not on your PATH: run {launcher})"))
    return files, notes


def _model_settings(headers: Mapping[str, str]) -> str:
    """aider's model settings: the Copilot headers for every model (``aider/extra_params``
    applies to whichever model aider runs)."""
    lines = ["# Written by `git-credential-copilot setup aider`: the headers the Copilot API",
             "# expects, sent with every model.",
             "- name: aider/extra_params",
             "  extra_params:",
             "    extra_headers:"]
    lines += [f"      {name}: {json.dumps(value)}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"
