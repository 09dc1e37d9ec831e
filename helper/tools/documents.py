"""Another tool's config file as a document of keys: read a value, set it, put back what
was there, remove a table we made, and render the text, keeping everything else.

TOML (Codex) goes through tomlkit, which keeps every other key, comment, blank line and
quote style; JSON (Claude Code) through the json module, rendered again in the file's own
indent (JSON has no comments; a file with comments, JSONC, is refused, not rewritten).
A key is a path of names (``("model_providers", "copilot", "base_url")``). What was
there before is kept in a form that puts it back exactly: for TOML the value's own text
(``"o3"   # favourite`` keeps its comment, which lives beside the value), for JSON the
value.

Blank lines: read again, a blank line before a table header belongs to what comes before
it, so removing our table would leave it behind. So the blank line before each header of
ours is recorded (``padded``) and taken out again by text at teardown; the one after our
last table lives inside it; and the person's tables keep exactly their own spacing
(tomlkit would add some when a key goes in before them). After every edit the text is read
back with tomllib and must mean exactly the file's values plus ours (``check``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from helper.errors import HelperError

if TYPE_CHECKING:
    from typing import Any

Path_ = tuple[str, ...]


class ToolConfigError(HelperError):
    """A tool's config file cannot be changed safely; nothing was changed."""


class Missing:
    """No value at a path (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


def dotted(path: Sequence[str]) -> str:
    return ".".join(path)


# -- TOML --------------------------------------------------------------------------------


class TomlDocument:
    """A TOML file, edited in place by tomlkit."""

    format = "toml"

    def __init__(self, text: str, where: str):
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        self.where = where
        self.crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")  # CRLF only
        self.final_newline = text.endswith("\n") or not text
        if not self.final_newline:  # else tomlkit may run our first line into the last one
            text += "\r\n" if self.crlf else "\n"
        tomllib = _tomllib()
        try:
            self.doc = tomlkit.parse(text)
            # What the file means, kept up to date with every edit: check() compares.
            self.meaning: dict[str, Any] = tomllib.loads(text)
        except (TOMLKitError, tomllib.TOMLDecodeError) as e:
            raise ToolConfigError(f"{where} is not valid TOML ({e}); fix it, then run this "
                                  "again (nothing was changed)") from e
        self.created: list[Path_] = []  # tables this edit made, outermost first
        self.padded: list[str] = []  # headers of ours we put a blank line before

    # reading

    def _node(self, path: Path_) -> Any:
        node: Any = self.doc
        for name in path:
            if not hasattr(node, "keys") or name not in node:
                return MISSING
            node = node[name]
        return node

    def get(self, path: Path_) -> Any:
        """The value at ``path`` as plain Python, or MISSING."""
        node = self._node(path)
        return node if node is MISSING else _plain(node)

    def before(self, path: Path_) -> Any:
        """What is at ``path`` now, in the form ``restore`` takes: the value's TOML text."""
        node = self._node(path)
        return node if node is MISSING else node.as_string()

    # writing

    def set_all(self, leaves: Sequence[tuple[Path_, Any]]) -> None:
        """Set every leaf, making the tables on their paths that are missing."""
        parents = {path[:-1] for path, _ in leaves}
        # Top-level keys first, and the person's tables keep their own spacing: tomlkit
        # gives a table after a key it adds a blank line of its own, which would stay
        # after teardown.
        indents = [(t, t.trivia.indent) for t in _tables(self.doc.body)]
        for path, value in sorted(leaves, key=lambda leaf: len(leaf[0]) > 1):
            table = self._table(path[:-1], parents)
            table[path[-1]] = _toml_value(value)
            _put(self.meaning, path, value)
        for table, indent in indents:
            table.trivia.indent = indent
        self._space_out()

    def _table(self, path: Path_, parents: set[Path_]) -> Any:
        import tomlkit
        from tomlkit.container import OutOfOrderTableProxy
        from tomlkit.items import InlineTable, Table

        node: Any = self.doc
        for depth, name in enumerate(path, 1):
            here = path[:depth]
            if name not in node:
                new = tomlkit.table(is_super_table=here not in parents)
                node[name] = new
                new.trivia.indent = ""  # blank lines are placed by _space_out
                self.created.append(here)
            child = node[name]
            if isinstance(child, InlineTable) or not isinstance(
                    child, (Table, OutOfOrderTableProxy)):
                what = "an inline table" if isinstance(child, InlineTable) else "not a table"
                raise ToolConfigError(
                    f"{self.where}: {dotted(here)} is {what}; make it a [{dotted(here)}] table "
                    "or add the settings by hand (nothing was changed)")
            node = child
        return node

    def _space_out(self) -> None:
        """One blank line before each table we made (recorded in ``padded`` where the
        text before it lacked one), and one after the last when something follows it."""
        import tomlkit

        shown = [p for p in self.created if not self._node(p).is_super_table()]
        for path in shown:
            text = self.doc.as_string()
            line = header(path)
            start = _find_line(text, line)
            if start > 0 and not text[:start].endswith("\n\n"):
                self._node(path).trivia.indent = "\n"
                self.padded.append(line)
        if shown:
            last = self._node(shown[-1])
            before = self.doc.as_string()
            last.add(tomlkit.nl())
            if self.doc.as_string() == before + "\n":  # nothing follows it
                last.value.body.pop()

    def restore(self, path: Path_, before: Any) -> None:
        """Put back what ``before`` says was at ``path`` (MISSING: nothing)."""
        import tomlkit

        parent = self._node(path[:-1])
        if before is MISSING:
            if hasattr(parent, "keys") and path[-1] in parent:
                del parent[path[-1]]
            _put(self.meaning, path, MISSING)
            return
        parent[path[-1]] = tomlkit.parse(f"x = {before}")["x"]
        _put(self.meaning, path, _tomllib().loads(f"x = {before}")["x"])

    def drop_empty_tables(self, tables: Sequence[Path_]) -> list[Path_]:
        """Remove each of ``tables`` (ours) that holds nothing now; the ones kept."""
        from tomlkit.items import Null, Whitespace

        kept = []
        for path in sorted(tables, key=len, reverse=True):
            node = self._node(path)
            if node is MISSING:
                continue
            if all(key is None and isinstance(item, (Whitespace, Null))  # Null: a deleted key
                   for key, item in node.value.body):
                del self._node(path[:-1])[path[-1]]
                _put(self.meaning, path, MISSING)
            else:
                kept.append(path)
        return kept

    def text(self) -> str:
        text = self.doc.as_string()
        if self.crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return text

    def check(self) -> None:
        """The text must mean what the file meant with our edits and nothing else: read
        back by tomllib (strict, and independent of tomlkit), it must equal the file's
        values with the keys set or put back. (tomlkit cannot add a table next to dotted
        keys, ``a.b.c = 1``, without moving lines under it.)"""
        tomllib = _tomllib()
        try:
            meaning = tomllib.loads(self.text())
        except tomllib.TOMLDecodeError as e:
            meaning = {"not valid TOML": str(e)}
        if meaning != self.meaning:
            raise ToolConfigError(
                f"{self.where}: the change would alter what the rest of the file means "
                "(dotted keys?); make it by hand (nothing was changed)")

    @staticmethod
    def unpad(text: str, headers: Sequence[str], final_newline: bool) -> str:
        """Undo what ``set_all`` did to the text around our tables: the blank line before
        each of ``headers`` and a final newline the file did not have."""
        for line in headers:
            for nl in ("\r\n", "\n"):
                text = text.replace(nl + nl + line + nl, nl + line + nl, 1)
        if not final_newline:
            text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
        return text


def _find_line(text: str, line: str) -> int:
    """Where ``line`` stands alone on a line of ``text`` (-1: nowhere)."""
    import re

    found = re.search(r"(?m)^" + re.escape(line) + r"[ \t]*\r?$", text)
    return found.start() if found else -1


def header(path: Path_) -> str:
    """The line that opens the TOML table at ``path``: ``[model_providers.copilot]``."""
    import tomlkit

    return "[" + ".".join(tomlkit.key(name).as_string() for name in path) + "]"


def _tables(body: list[tuple[Any, Any]]) -> list[Any]:
    """Every table in a tomlkit body, nested ones and those of arrays of tables too."""
    from tomlkit.items import AoT, Table

    found = []
    for _, item in body:
        if isinstance(item, Table):
            found += [item, *_tables(item.value.body)]
        elif isinstance(item, AoT):
            for table in item.body:
                found += [table, *_tables(table.value.body)]
    return found


def _tomllib() -> Any:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    return tomllib


def _put(values: dict[str, Any], path: Path_, value: Any) -> None:
    """Set (or with MISSING, delete) ``path`` in plain nested dicts."""
    for name in path[:-1]:
        values = values.setdefault(name, {})
    if value is MISSING:
        values.pop(path[-1], None)
    else:
        values[path[-1]] = value


def _toml_value(value: Any) -> Any:
    import tomlkit

    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update(value)
        return inline
    return value


def _plain(node: Any) -> Any:
    return node.unwrap() if hasattr(node, "unwrap") else node


# -- JSON --------------------------------------------------------------------------------


class JsonDocument:
    """A JSON object file, rendered again in its own indent with its keys in order."""

    format = "json"

    def __init__(self, text: str, where: str):
        self.where = where
        self.final_newline = text.endswith("\n") or not text.strip()
        self.indent = _indent_of(text)
        try:
            value = json.loads(text, object_pairs_hook=_no_duplicates) if text.strip() else {}
        except ValueError as e:
            raise ToolConfigError(f"{where} is not plain JSON{_jsonc_hint(text, e)}; it is "
                                  "left as it is: make the change by hand") from e
        if not isinstance(value, dict):
            raise ToolConfigError(f"{where} does not hold a JSON object; it is left as it is")
        self.doc: dict[str, Any] = value
        self.created: list[Path_] = []
        self.padded: list[str] = []

    def _parent(self, path: Path_, make: bool) -> Any:
        node: Any = self.doc
        for depth, name in enumerate(path[:-1], 1):
            if name not in node and make:
                node[name] = {}
                self.created.append(path[:depth])
            node = node.get(name, MISSING) if isinstance(node, dict) else MISSING
            if node is MISSING:
                return MISSING
            if not isinstance(node, dict):
                raise ToolConfigError(
                    f"{self.where}: {dotted(path[:depth])} is not an object; it is left as it "
                    "is: make the change by hand")
        return node

    def get(self, path: Path_) -> Any:
        parent = self._parent(path, make=False)
        return parent.get(path[-1], MISSING) if isinstance(parent, dict) else MISSING

    before = get

    def set_all(self, leaves: Sequence[tuple[Path_, Any]]) -> None:
        for path, value in leaves:
            self._parent(path, make=True)[path[-1]] = value

    def restore(self, path: Path_, before: Any) -> None:
        parent = self._parent(path, make=False)
        if not isinstance(parent, dict):
            return
        if before is MISSING:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = before

    def drop_empty_tables(self, tables: Sequence[Path_]) -> list[Path_]:
        kept = []
        for path in sorted(tables, key=len, reverse=True):
            parent = self._parent(path, make=False)
            if not isinstance(parent, dict) or path[-1] not in parent:
                continue
            if parent[path[-1]] == {}:
                del parent[path[-1]]
            else:
                kept.append(path)
        return kept

    def text(self) -> str:
        text = json.dumps(self.doc, indent=self.indent, ensure_ascii=False)
        return text + "\n" if self.final_newline else text

    def check(self) -> None:
        """Always valid: rendered by json itself."""

    @staticmethod
    def unpad(text: str, headers: Sequence[str], final_newline: bool) -> str:
        return text


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: with a duplicate, rewriting would drop one."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice")
        seen[key] = value
    return seen


def _indent_of(text: str) -> int | str | None:
    """The indent of the first indented line (2 for a new or one-line file)."""
    if text.strip() and "\n" not in text.strip():
        return None
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            space = line[:len(line) - len(stripped)]
            return len(space) if set(space) == {" "} else space
    return 2


def _jsonc_hint(text: str, error: ValueError) -> str:
    """Why the text is not JSON, in words a person can act on."""
    import re

    if re.search(r'^\s*(//|/\*)|,\s*[}\]]', text, re.MULTILINE):
        return " (it has comments or trailing commas: JSONC)"
    return f" ({error})"


def document(fmt: str, text: str, where: str) -> TomlDocument | JsonDocument:
    """The document for a file of format ``fmt`` ("toml" or "json")."""
    return TomlDocument(text, where) if fmt == "toml" else JsonDocument(text, where)
