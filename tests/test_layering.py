"""The import graph of helper/: no cycles, and the layers import downwards only.

Every module is parsed (ast, not imported) and every import counts: top-level ones,
function-level ones and those under ``if TYPE_CHECKING:`` alike. A cycle any of them closes
is a design knot, whether or not it happens to work at run time.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helper"

# Cycles still to be untied, each as the set of its modules; none today. An entry must go
# when its cycle is gone (test_known_cycles_still_exist says when), so none comes back.
KNOWN: set[frozenset[str]] = set()
# The command line's entry points: the cached path reads git's input with the command
# line's own reader, the installed command hands over to it, and ``python -m helper`` runs it.
ENTRY_POINTS = ("helper.fast", "helper.launch", "helper.__main__")


def modules() -> dict[str, Path]:
    """Every module under helper/ by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The helper modules ``name`` imports, anywhere in its body. ``from a import b`` is an
    import of module ``a.b`` when there is one, else of ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.add(f"{base}.{alias.name}")
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    """Who imports whom (a copy each time: the tests may change theirs)."""
    return {name: set(targets) for name, targets in _parsed().items()}


@functools.cache
def _parsed() -> dict[str, frozenset[str]]:
    """Every module parsed once per test process (five tests ask)."""
    known = modules()
    return {name: frozenset(imports_of(name, path, known)) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm,
    iterative: no recursion limit to meet)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def describe(component: frozenset[str], edges: dict[str, set[str]]) -> str:
    links = [f"{a} -> {b}" for a in sorted(component) for b in sorted(edges[a] & component)]
    return "; ".join(links)


def test_no_import_cycles():
    edges = graph()
    new = cycles(edges) - KNOWN
    assert not new, "import cycles: " + " | ".join(describe(c, edges) for c in new)


def test_known_cycles_still_exist():
    """An entry in KNOWN whose cycle is gone must leave the list, so it cannot come back."""
    assert cycles(graph()) >= KNOWN


@pytest.mark.parametrize(("edges", "want"), [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, {frozenset({"a", "b"})}),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, {frozenset({"a", "b", "c"})}),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, set()),
])
def test_the_cycle_finder(edges, want):
    assert cycles(edges) == want


def test_every_kind_of_import_is_seen(tmp_path):
    """Top-level, function-level, TYPE_CHECKING and relative imports all count."""
    (tmp_path / "helper" / "p").mkdir(parents=True)
    source = (
        "import helper.a\n"
        "TYPE_CHECKING = False\n"
        "if TYPE_CHECKING:\n    from helper.b import Thing\n"
        "def f():\n    from helper import c\n"
        "from . import d\n"
    )
    known = {name: tmp_path / "x.py" for name in
             ("helper.a", "helper.b", "helper.c", "helper.p.d", "helper.p.m")}
    path = tmp_path / "helper" / "p" / "m.py"
    path.write_text(source)
    assert imports_of("helper.p.m", path, known) == {"helper.a", "helper.b", "helper.c",
                                                     "helper.p.d"}


def test_nothing_below_the_command_line_imports_it():
    edges = graph()
    wrong = {f"{a} -> {b}" for a, targets in edges.items() for b in targets
             if b.startswith("helper.commands") and not a.startswith("helper.commands")
             and a not in ENTRY_POINTS}
    assert not wrong, wrong


# Imports of a provider's own modules from outside helper/providers still to be replaced
# by the contract; an entry must go when its import is gone.
KNOWN_REACHES: set[str] = set()


def reaches_into_providers() -> set[str]:
    """Imports of a provider's own modules from outside helper/providers (only the contract,
    the profile and the registry are public)."""
    public = {"helper.providers.base", "helper.providers.profile", "helper.providers.registry"}
    return {f"{a} -> {b}" for a, targets in graph().items() for b in targets
            if b.startswith("helper.providers.") and b not in public
            and not a.startswith("helper.providers.")}


def test_only_the_providers_know_a_provider():
    """No command or core module reaches into a provider's own modules."""
    found = reaches_into_providers()
    assert not found - KNOWN_REACHES, found - KNOWN_REACHES
    assert found >= KNOWN_REACHES, "gone now: remove from KNOWN_REACHES"


# The layers, top to bottom: a module imports only its own layer and those below it. The
# entry points (ENTRY_POINTS) sit above them all. Top-level modules are placed by name.
LAYERS = (
    ("helper.commands", "helper.api", "helper"),
    ("helper.tools",),
    ("helper.core",),
    ("helper.providers",),
    ("helper.oauth2",),
    ("helper.console",),
    ("helper.storage",),
    ("helper.net",),
    ("helper.errors", "helper.osdeps"),
)


def layer_of(name: str) -> int:
    """The index of ``name``'s layer in LAYERS (the longest matching prefix decides)."""
    best, found = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found >= 0, f"{name} is in no layer: add it to LAYERS"
    return found


def test_layers_import_downwards_only():
    upward = {f"{a} -> {b}" for a, targets in graph().items() if a not in ENTRY_POINTS
              for b in targets if layer_of(b) < layer_of(a)}
    assert not upward, sorted(upward)
