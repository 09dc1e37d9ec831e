"""GitHub logins other tools already have, for ``login --from litellm|editor`` and
``login --with-token``: where each tool keeps one and how its file is laid out.

LiteLLM's ``github_copilot`` provider keeps the GitHub token of its own device flow in a
plain file (``$GITHUB_COPILOT_TOKEN_DIR/$GITHUB_COPILOT_ACCESS_TOKEN_FILE``, by default
``~/.config/litellm/github_copilot/access-token``). copilot.vim, copilot.lua and the
JetBrains plugin keep theirs in ``$XDG_CONFIG_HOME/github-copilot/apps.json`` (keys
``HOST:CLIENT_ID``; older versions ``hosts.json``, keys ``HOST``), each entry
``{"user": ..., "oauth_token": ...}``. ``--with-token`` reads one from stdin, like
``gh auth login --with-token``.

A source file is only read: never rewritten, never chmod-ed. Checking the token (one
exchange) and storing it is the life cycle's business, not this module's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from helper.providers.base import WITH_TOKEN, Imported, SourceError
from helper.storage import files
from helper.storage.records import Grant

if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from helper.providers.profile import Profile

LITELLM, EDITOR = "litellm", "editor"
SOURCES = (EDITOR, LITELLM, WITH_TOKEN)
MAX_SOURCE = 1024 * 1024


def find(source: str, profile: Profile, env: Mapping[str, str], stdin: BinaryIO) -> Imported:
    """The GitHub login kept at ``source`` (one of SOURCES)."""
    if source == LITELLM:
        return from_litellm(env)
    if source == EDITOR:
        return from_editor(env, profile)
    return from_stdin(stdin)


# -- where each tool keeps its login -----------------------------------------------------------


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def litellm_file(env: Mapping[str, str]) -> Path:
    directory = env.get("GITHUB_COPILOT_TOKEN_DIR") or str(
        _home(env) / ".config" / "litellm" / "github_copilot")
    return Path(directory) / (env.get("GITHUB_COPILOT_ACCESS_TOKEN_FILE") or "access-token")


def editor_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else _home(env) / ".config"
    return root / "github-copilot"


def from_litellm(env: Mapping[str, str]) -> Imported:
    path = litellm_file(env)
    hint = "LiteLLM keeps its GitHub login there after its own device flow"
    data = read_source(path, hint) or b""
    return _found(_token_text(data.decode("utf-8", "replace"), str(path)), "", str(path))


def from_editor(env: Mapping[str, str], profile: Profile) -> Imported:
    """The entry for the profile's GitHub host in apps.json, else in hosts.json."""
    directory = editor_dir(env)
    tried = []
    for name, keyed_by_client in (("apps.json", True), ("hosts.json", False)):
        path = directory / name
        tried.append(str(path))
        data = read_source(path, "", missing_ok=True)
        if data is None:
            continue
        entry = _editor_entry(_json_object(data, path), profile, keyed_by_client)
        if entry is not None:
            token = entry.get("oauth_token")
            user = entry.get("user")
            return _found(_token_text(token if isinstance(token, str) else "", str(path)),
                          user if isinstance(user, str) and user.isprintable() else "",
                          str(path))
    raise SourceError(f"no GitHub login for {profile.login_host} in {' or '.join(tried)} "
                      "(sign in with the Copilot plugin of your editor first); nothing was stored")


def _editor_entry(data: dict[str, Any], profile: Profile,
                  keyed_by_client: bool) -> dict[str, Any] | None:
    """The entry for the profile's login host; the profile's own client id first."""
    matches = []
    for key, entry in data.items():
        host, client = key.rsplit(":", 1) if keyed_by_client and ":" in key else (key, "")
        if host.lower() == profile.login_host and isinstance(entry, dict):
            matches.append((client != profile.client_id, entry))
    matches.sort(key=lambda m: m[0])
    return matches[0][1] if matches else None


def from_stdin(stdin: BinaryIO) -> Imported:
    data = stdin.read(MAX_SOURCE + 1) if hasattr(stdin, "read") else b""
    if len(data) > MAX_SOURCE:
        raise SourceError("stdin: more than 1 MiB; give the GitHub token alone")
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return Imported(Grant(access_token=_token_text(text, "stdin")), "stdin", is_file=False)


def _found(token: str, username: str, where: str) -> Imported:
    return Imported(Grant(access_token=token, username=username), where)


def _token_text(text: str, where: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise SourceError(f"{where} holds no token; nothing was stored")
    token = lines[0]
    if len(lines) > 1 or len(token) > 1024 or not token.isprintable() or " " in token:
        raise SourceError(f"{where} does not hold a single GitHub token; nothing was stored")
    return token


def _json_object(data: bytes, path: Path) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SourceError(f"{path} is not valid JSON; nothing was stored") from None
    if not isinstance(value, dict):
        raise SourceError(f"{path} does not hold a JSON object; nothing was stored")
    return value


def read_source(path: Path, hint: str, missing_ok: bool = False) -> bytes | None:
    """Another program's file, read only: a regular file of ours, at most 1 MiB. Unlike our
    own files it may be a symlink (dotfile managers) and its mode is left as it is."""
    try:
        data = files.read_regular(path, MAX_SOURCE, follow=True, mine=True)
    except files.UnreadableFile as e:
        raise SourceError(f"{e}; nothing was stored") from e
    if data is None and not missing_ok:
        raise SourceError(f"{path}: no such file" + (f" ({hint})" if hint else "")
                          + "; nothing was stored")
    return data
