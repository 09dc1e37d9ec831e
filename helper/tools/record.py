"""What ``setup`` added to a tool's files, so ``teardown`` removes exactly that.

One JSON file per tool and profile, ``$XDG_STATE_HOME/git-credential-copilot/setup/
<tool>.<profile>.json`` (0600, written atomically like every state file). Per file it
names: each key we set with the value we wrote and what was there before (absent, or the
old value in a form that puts it back exactly), the tables we made, whether we created the
file and its directories, and for a file that is wholly ours (a launcher) its SHA-256.
A second ``setup`` keeps the first one's "before": what teardown restores is always the
file as it was before any setup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helper.errors import HelperError
from helper.storage import files, paths

from .documents import MISSING

VERSION = 1


@dataclass
class KeyRecord:
    path: tuple[str, ...]
    value: Any
    before: Any = MISSING  # MISSING: the key was absent

    def to_dict(self) -> dict[str, Any]:
        out = {"path": list(self.path), "value": self.value}
        if self.before is not MISSING:
            out["before"] = self.before
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> KeyRecord:
        return cls(tuple(raw["path"]), raw.get("value"), raw.get("before", MISSING))


@dataclass
class FileRecord:
    format: str  # "toml", "json", or "file" (wholly ours)
    created: bool = False
    final_newline: bool = True
    dirs: list[str] = field(default_factory=list)
    padded: list[str] = field(default_factory=list)
    tables: list[tuple[str, ...]] = field(default_factory=list)
    keys: list[KeyRecord] = field(default_factory=list)
    sha256: str = ""

    def key(self, path: tuple[str, ...]) -> KeyRecord | None:
        return next((k for k in self.keys if k.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "created": self.created,
                "final_newline": self.final_newline, "dirs": self.dirs,
                "padded": self.padded, "tables": [list(t) for t in self.tables],
                "keys": [k.to_dict() for k in self.keys], "sha256": self.sha256}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FileRecord:
        return cls(str(raw["format"]), bool(raw.get("created")),
                   bool(raw.get("final_newline", True)), list(raw.get("dirs", [])),
                   list(raw.get("padded", [])), [tuple(t) for t in raw.get("tables", [])],
                   [KeyRecord.from_dict(k) for k in raw.get("keys", [])],
                   str(raw.get("sha256", "")))


@dataclass
class Record:
    tool: str
    profile: str
    command: str = ""
    files: dict[str, FileRecord] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "tool": self.tool, "profile": self.profile,
                "command": self.command,
                "files": {name: f.to_dict() for name, f in self.files.items()}}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Record:
        return cls(str(raw["tool"]), str(raw["profile"]), str(raw.get("command", "")),
                   {str(name): FileRecord.from_dict(f) for name, f in raw["files"].items()})


def directory(env: Mapping[str, str]) -> Path:
    return paths.state_dir(env) / "setup"


def path_for(env: Mapping[str, str], tool: str, profile: str) -> Path:
    return directory(env) / f"{tool}.{profile}.json"


def load(env: Mapping[str, str], tool: str, profile: str) -> Record | None:
    """The record of ``setup <tool>`` for ``profile``; None when there is none (or it is
    unreadable: then teardown finds nothing of ours, and says so)."""
    return _read(path_for(env, tool, profile))


def _read(path: Path) -> Record | None:
    try:
        raw = files.read_json(path)
    except HelperError:
        return None
    if raw is None or raw.get("version") != VERSION:
        return None
    try:
        return Record.from_dict(raw)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def save(env: Mapping[str, str], record: Record) -> None:
    files.write_json(path_for(env, record.tool, record.profile), record.to_dict())


def remove(env: Mapping[str, str], record: Record) -> None:
    files.remove(path_for(env, record.tool, record.profile))


def all_for(env: Mapping[str, str], tool: str) -> list[Record]:
    """Every record of ``tool`` (one per profile set up), by profile name."""
    try:
        names = sorted(p.name for p in directory(env).iterdir())
    except OSError:
        return []
    found = [_read(directory(env) / name) for name in names
             if name.startswith(f"{tool}.") and name.endswith(".json")]
    return [r for r in found if r is not None and r.tool == tool]
