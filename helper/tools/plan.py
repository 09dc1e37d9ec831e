"""From what a tool wants to the changes on disk, and back: ``setup`` and ``teardown``
worked out without touching anything.

A tool module says what it wants (``Wanted``: a file, its format, the keys to set, or the
whole text of a file that is ours alone). ``setup`` reads each file, sets the keys and
notes in the ``Record`` what was there before; ``teardown`` reads the record and, key by
key, puts back what was there, but only where the value is still the one we wrote: a
value the person changed since is theirs, and is left with a line saying so. Tables and
files we made go when nothing is left in them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .change import Change, missing_dirs, read_text
from .documents import (
    MISSING,
    JsonDocument,
    TomlDocument,
    ToolConfigError,
    document,
    dotted,
    header,
)
from .record import FileRecord, KeyRecord, Record

TOML, JSON, FILE = "toml", "json", "file"


@dataclass(frozen=True)
class Wanted:
    """One file as a tool wants it: keys to set in it (``leaves``), or for a file that is
    ours alone (``FILE``) its whole ``content``; ``mode`` for a file we create."""

    path: Path
    format: str
    leaves: tuple[tuple[tuple[str, ...], Any], ...] = ()
    content: str = ""
    mode: int = 0o600

    def ours(self) -> set[str]:
        """The string values we write (never masked in a diff)."""
        values: set[str] = set()
        for _, value in self.leaves:
            values |= _strings(value)
        return values


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- setup -------------------------------------------------------------------------------


def setup(wanted: Sequence[Wanted], record: Record) -> list[Change]:
    """The changes that give each file what it wants; ``record`` is updated to match."""
    return [_setup_file(w, record) for w in wanted]


def _setup_file(wanted: Wanted, record: Record) -> Change:
    old, mode = read_text(wanted.path)
    name = str(wanted.path)
    seen = record.files.get(name)
    first = seen is None or seen.format != wanted.format
    if seen is None or first:
        seen = FileRecord(wanted.format, created=old is None,
                          final_newline=old is None or old.endswith("\n") or not old,
                          dirs=[str(d) for d in missing_dirs(wanted.path.parent)])
    if wanted.format == FILE:
        new = _whole_file(wanted, old, seen)
    else:
        new = _set_keys(wanted, old or "", seen, first)
    record.files[name] = seen
    return Change(wanted.path, old, new, mode if old is not None else wanted.mode)


def _whole_file(wanted: Wanted, old: str | None, seen: FileRecord) -> str:
    """A file that is ours alone: written only where there is none, or ours unchanged."""
    if old is not None and old != wanted.content and digest(old) != seen.sha256:
        raise ToolConfigError(
            f"{wanted.path} exists and is not the one setup wrote; move it away and run "
            "this again (nothing was changed)")
    seen.sha256 = digest(wanted.content)
    return wanted.content


def _set_keys(wanted: Wanted, old: str, seen: FileRecord, first: bool) -> str:
    doc = document(wanted.format, old, str(wanted.path))
    for path, value in wanted.leaves:
        known = seen.key(path)
        if known is None:
            seen.keys.append(KeyRecord(path, value, doc.before(path)))
        else:
            known.value = value
    doc.set_all(wanted.leaves)
    doc.check()
    seen.tables += [t for t in doc.created if t not in seen.tables]
    seen.padded += [h for h in doc.padded if h not in seen.padded]
    new = doc.text()
    # Prove the undo before the first write: teardown must give back the file as it is.
    if first and _unset_keys(wanted.path, new, seen)[0] != (None if seen.created else old):
        raise ToolConfigError(
            f"{wanted.path}: its layout is too unusual for teardown to undo this change "
            "exactly; add the settings by hand (nothing was changed)")
    return new


# -- teardown ----------------------------------------------------------------------------


def teardown(record: Record) -> tuple[list[Change], list[str]]:
    """The changes that remove what ``record`` says setup added, and the lines to say
    about what is left (changed since, or already gone)."""
    changes, notes = [], []
    for name, seen in record.files.items():
        path = Path(name)
        old, mode = read_text(path)
        if old is None:
            notes.append(f"{path} is gone; nothing to remove there")
            continue
        if seen.format == FILE:
            if digest(old) == seen.sha256:
                changes.append(Change(path, old, None, mode))
            else:
                notes.append(f"{path} was changed since setup; left as it is")
            continue
        new, left = _unset_keys(path, old, seen)
        notes += left
        changes.append(Change(path, old, new, mode))
    return changes, notes


def _unset_keys(path: Path, old: str, seen: FileRecord) -> tuple[str | None, list[str]]:
    """The file without our keys (None: delete it, it held only ours); and the notes."""
    trial, _, kept = _undo(path, old, seen)  # which of our tables go: their blank lines too
    gone = [h for h in seen.padded if not any(header(t) == h for t in kept)]
    text = TomlDocument.unpad(old, gone, True) if seen.format == TOML else old
    doc, notes, _ = _undo(path, text, seen)
    new = doc.text()
    if not seen.final_newline:
        new = type(doc).unpad(new, (), False)
    doc.check()
    if seen.created and _empty(doc, new):
        return None, notes
    return new, notes


def _undo(path: Path, text: str, seen: FileRecord
          ) -> tuple[TomlDocument | JsonDocument, list[str], list[tuple[str, ...]]]:
    doc = document(seen.format, text, str(path))
    notes = []
    for key in reversed(seen.keys):
        current = doc.get(key.path)
        if current is MISSING:
            continue
        if current == key.value:
            doc.restore(key.path, key.before)
        else:
            notes.append(f"{path}: {dotted(key.path)} was changed since setup; left as it is")
    kept = doc.drop_empty_tables(seen.tables)
    return doc, notes, kept


def _empty(doc: TomlDocument | JsonDocument, text: str) -> bool:
    return not text.strip() if doc.format == TOML else not doc.doc
