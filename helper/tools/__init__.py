"""Setting up other tools to take their tokens from us: ``setup`` / ``teardown`` and the
report ``doctor`` gives of them.

Each tool is one module with the same small interface: ``NAME``,
``config_path(env, profile)`` (the file a person looks in) and
``wanted(target, env, default)`` (the files and keys it needs, from a ``target.Target``;
it never reads or writes a file itself). ``plan`` turns that into changes and a record,
``change`` makes them, ``record`` remembers them, ``documents`` edits TOML and JSON.

- ``codex``: ``$CODEX_HOME/config.toml`` and a profile file beside it;
- ``claude_code``: ``$CLAUDE_CONFIG_DIR/settings.json``;
- ``aider``: a launcher in ``~/.local/bin``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from types import ModuleType

    from helper.providers.base import Diagnostic

    from .record import Record

REGISTRY = {
    "codex": "helper.tools.codex",
    "claude-code": "helper.tools.claude_code",
    "aider": "helper.tools.aider",
}
NOT_SET_UP, SET_UP, ELSEWHERE = "not set up", "set up", "points elsewhere"


def names() -> list[str]:
    return list(REGISTRY)


def module(name: str) -> ModuleType:
    """The module of tool ``name`` (one of ``names()``)."""
    return importlib.import_module(REGISTRY[name])


class ToolReport(NamedTuple):
    """How one tool stands, for ``doctor``: ``state`` is NOT_SET_UP, SET_UP or ELSEWHERE
    (its config no longer holds what setup wrote: edited, or our command is gone);
    ``detail`` says what differs, or which profile it uses."""

    name: str
    config_path: Path
    state: str
    profile: str = ""
    detail: str = ""


def report(env: Mapping[str, str] | None = None) -> list[ToolReport]:
    """One line per tool and profile set up (one ``not set up`` line for a tool with
    none). Reads files only: no token, no network, nothing written."""
    from . import record

    env = os.environ if env is None else env
    reports = []
    for name in names():
        found = record.all_for(env, name)
        if not found:
            reports.append(ToolReport(name, module(name).config_path(env), NOT_SET_UP))
        reports += [_check(name, r, module(name).config_path(env, r.profile)) for r in found]
    return reports


def _check(name: str, rec: Record, main: Path) -> ToolReport:
    """Does every file still hold what setup wrote there?"""
    from .change import read_text
    from .documents import MISSING, ToolConfigError, document, dotted
    from .plan import FILE, digest

    if rec.command and not os.access(rec.command, os.X_OK):
        return ToolReport(name, main, ELSEWHERE, rec.profile,
                          f"it runs {rec.command}, which is no longer there")
    for path_name, seen in rec.files.items():
        path = Path(path_name)
        try:
            text, _ = read_text(path)
            if text is None:
                return ToolReport(name, path, ELSEWHERE, rec.profile, f"{path} is gone")
            if seen.format == FILE:
                if digest(text) != seen.sha256:
                    return ToolReport(name, path, ELSEWHERE, rec.profile,
                                      f"{path} was changed since setup")
                continue
            doc = document(seen.format, text, path_name)
        except ToolConfigError as e:
            return ToolReport(name, path, ELSEWHERE, rec.profile, str(e))
        for key in seen.keys:
            value = doc.get(key.path)
            if value != key.value:
                now = "is gone" if value is MISSING else "was changed since setup"
                return ToolReport(name, path, ELSEWHERE, rec.profile,
                                  f"{dotted(key.path)} {now} in {path}")
    return ToolReport(name, main, SET_UP, rec.profile, f"profile {rec.profile}")


def diagnostics(env: Mapping[str, str]) -> list[Diagnostic]:
    """``doctor``'s lines for the LLM tools: which are set up, and whether their config
    still points at us (read-only)."""
    from helper.providers.base import passed, warned

    lines = []
    for found in report(env):
        name = f"tool {found.name}" + (f" ({found.profile})" if found.profile else "")
        if found.state == SET_UP:
            lines.append(passed(name, f"set up in {found.config_path}"))
        elif found.state == NOT_SET_UP:
            lines.append(passed(name, "not set up (`git-credential-copilot setup "
                                      f"{found.name}` when you use it)"))
        else:
            flag = f" --profile {found.profile}" if found.profile else ""
            lines.append(warned(name, f"{found.config_path} no longer points at this helper"
                                      + (f": {found.detail}" if found.detail else ""),
                                f"git-credential-copilot{flag} setup {found.name}"))
    return lines
