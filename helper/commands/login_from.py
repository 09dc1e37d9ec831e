"""Bring a GitHub login that already exists: ``login --from litellm|editor``, ``--with-token``.

LiteLLM's ``github_copilot`` provider keeps the GitHub token of its own device flow in a
plain file (``$GITHUB_COPILOT_TOKEN_DIR/$GITHUB_COPILOT_ACCESS_TOKEN_FILE``, by default
``~/.config/litellm/github_copilot/access-token``). copilot.vim, copilot.lua and the
JetBrains plugin keep theirs in ``$XDG_CONFIG_HOME/github-copilot/apps.json`` (keys
``HOST:CLIENT_ID``; older versions ``hosts.json``, keys ``HOST``), each entry
``{"user": ..., "oauth_token": ...}``. ``--with-token`` reads one from stdin, like
``gh auth login --with-token``.

The candidate is checked with one token exchange before it is stored, so a refused token
never replaces a login. The source file is only read: never rewritten, never chmod-ed.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

from helper.storage import files
from helper.errors import CredentialError, UsageError, mask
from helper.core.logins import Refused, import_login
from helper.storage.records import Grant

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: it costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from helper.console import Streams
    from helper.core.config import Profile
    from helper.core.lifecycle import Lifecycle
    from helper.storage.records import Token

MAX_SOURCE = 1024 * 1024

Found = namedtuple("Found", ("token", "username", "where"))


class SourceError(CredentialError):
    """The source holds no usable GitHub token; nothing was stored."""


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


def from_litellm(env: Mapping[str, str], profile: Any) -> Found:
    path = litellm_file(env)
    hint = "LiteLLM keeps its GitHub login there after its own device flow"
    data = read_source(path, hint) or b""
    return Found(_token_text(data.decode("utf-8", "replace"), str(path)), "", str(path))


def from_editor(env: Mapping[str, str], profile: Any) -> Found:
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
            return Found(_token_text(token if isinstance(token, str) else "", str(path)),
                         user if isinstance(user, str) and user.isprintable() else "", str(path))
    raise SourceError(f"no GitHub login for {profile.login_host} in {' or '.join(tried)} "
                      "(sign in with the Copilot plugin of your editor first); nothing was stored")


def _editor_entry(data: dict[str, Any], profile: Any,
                  keyed_by_client: bool) -> dict[str, Any] | None:
    """The entry for the profile's login host; the profile's own client id first."""
    matches = []
    for key, entry in data.items():
        host, client = key.rsplit(":", 1) if keyed_by_client and ":" in key else (key, "")
        if host.lower() == profile.login_host and isinstance(entry, dict):
            matches.append((client != profile.client_id, entry))
    matches.sort(key=lambda m: m[0])
    return matches[0][1] if matches else None


def from_stdin(stdin: Any) -> Found:
    data = stdin.read(MAX_SOURCE + 1) if hasattr(stdin, "read") else b""
    if len(data) > MAX_SOURCE:
        raise SourceError("stdin: more than 1 MiB; give the GitHub token alone")
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return Found(_token_text(text, "stdin"), "", "stdin")


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


# -- the command -------------------------------------------------------------------------------


def find(source: str, stdin: Any, env: Mapping[str, str], profile: Any) -> Found:
    if source == "litellm":
        return from_litellm(env, profile)
    if source == "editor":
        return from_editor(env, profile)
    return from_stdin(stdin)


def keep(found: Found, lc: Lifecycle) -> Token:
    """Store the candidate once one exchange accepts it; the token it minted, or why not."""
    try:
        return import_login(lc, Grant(access_token=found.token, username=found.username))
    except Refused as e:
        raise CredentialError(
            f"the token from {found.where} ({mask(found.token)}) was refused: {e}"
            f"{lc.parts.provider().refusal_hint(found.token)}; nothing was stored") from e


def cmd_login_from(source: str, lc: Lifecycle, profile: Profile, streams: Streams) -> int:
    """``login --from litellm|editor`` / ``login --with-token``: check, then store."""
    if profile.provider != "copilot":
        raise UsageError(f"login --from and --with-token bring a GitHub login; profile "
                         f"{profile.name!r} uses provider {profile.provider!r}")
    found = find(source, streams.stdin, lc.env, profile)
    token = keep(found, lc)
    who = f" as {found.username}" if found.username else ""
    streams.console.notice(
        f"logged in{who} (profile {profile.name!r}) with the GitHub token from "
        f"{found.where} ({mask(found.token)}); the Copilot exchange accepted it "
        f"(API {token.api_base}); {found.where} was not changed"
        if found.where != "stdin" else
        f"logged in{who} (profile {profile.name!r}) with the GitHub token from stdin "
        f"({mask(found.token)}); the Copilot exchange accepted it (API {token.api_base})"
    )
    return 0
