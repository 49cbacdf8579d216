"""What the differential engine compares (pure): the changed callables that exist in both
commits (a method the change adds to override an inherited one counts: its class had it), a
callable the change adds reached through the callables of both that call it, and a changed
module-level or class-level name through the callables that use it."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from jobs.languages.python.testfiles import is_test_file
from jobs.testgen.engines.callables import ChangedCallable, describe_callables
from jobs.testgen.engines.python_modules import module_for

# Functions compared through a changed decorator's wrapper, at most (in source order): a
# decorator used everywhere would otherwise share the engine's time out among all of them.
MAX_DECORATED = 8


@dataclass(frozen=True)
class DiffTarget:
    path: str
    root: str  # import root, relative to the checkout
    module: str
    callable: ChangedCallable


def plan(
    checkout: Path,
    changed: Mapping[str, set[int]],
    base_sources: Mapping[str, str | None],
    tests: Mapping[str, str],
) -> tuple[list[DiffTarget], list[str]]:
    """The changed callables that exist in both commits (and, for a callable the change adds,
    the callables of both that call it), sorted; a note per callable left out. Pure."""
    targets: dict[tuple[str, str], DiffTarget] = {}
    notes: list[str] = []
    for path in sorted(changed):
        if not path.endswith(".py") or is_test_file(path) or not changed[path]:
            continue
        found = module_for(checkout, path)
        base_source = base_sources.get(path)
        if found is None or base_source is None:
            continue
        root, module = found
        source = (checkout / path).read_text(encoding="utf-8", errors="replace")
        every = {c.qualname: c for c in describe_callables(source, test_sources=tests)}
        in_base = {c.qualname for c in describe_callables(base_source)}
        in_base |= _inherited(base_source, [c.qualname for c in every.values()])
        touched = describe_callables(source, test_sources=tests, lines=set(changed[path]))
        chosen: list[ChangedCallable] = []
        uncalled: list[str] = []
        for item in touched:
            if item.kind == "nested":
                enclosing = every.get(item.enclosing or "")
                if enclosing is not None and enclosing.qualname in in_base:
                    chosen.append(enclosing)
                    # A wrapper a decorator returns runs only as the functions it decorates,
                    # which the decorator itself, called once at import, never shows.
                    decorated = _decorated_by(source, enclosing.qualname)
                    chosen += [every[q] for q in decorated if q in in_base and q in every][
                        :MAX_DECORATED
                    ]
            elif item.qualname in in_base:
                chosen.append(item)
            else:
                callers = [every[q] for q in _callers(source, item.name) if q in in_base]
                chosen += callers
                if not callers:
                    uncalled.append(f"`{item.qualname}`")
        # A changed module-level or class-level name (a regex, a table, a constant): the
        # callables of both commits that use it.
        for name in _assigned_at(source, set(changed[path])):
            chosen += [every[q] for q in _callers(source, name) if q in in_base and q in every]
        if uncalled:
            # One note per file: a new module of ten functions is one fact, not ten.
            notes.append(
                f"`{path}`: nothing of the base calls the new {', '.join(uncalled)}, "
                "so there is nothing to compare them with"
            )
        for item in chosen:
            if item.kind == "accessor" or item.is_async or item.kind == "nested":
                continue
            targets.setdefault((path, item.qualname), DiffTarget(path, root, module, item))
    return [targets[key] for key in sorted(targets)], notes


def _inherited(base_source: str, qualnames: list[str]) -> set[str]:
    """The methods among `qualnames` (``Class.name``) that the base's class of that name has
    through inheritance: a base class of the same module defines it, or a builtin base does
    (``dict.copy``). A method the change adds to override one is called the same way on both
    commits (``RecursiveMunch(...).copy()``), so the two are compared."""
    try:
        tree = ast.parse(base_source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}

    def has(name: str, method: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in seen:
            return False
        node = classes.get(name)
        if node is None:  # not a class of the module: a builtin type's own attribute
            builtin = getattr(builtins, name, None)
            return isinstance(builtin, type) and hasattr(builtin, method)
        own = {f.name for f in node.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
        if method in own:
            return True
        bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        return any(has(b, method, seen | {name}) for b in bases)

    found: set[str] = set()
    for qualname in qualnames:
        owner, _, method = qualname.rpartition(".")
        if owner in classes and "." not in owner and has(owner, method):
            found.add(qualname)
    return found


def _assigned_at(source: str, lines: set[int]) -> list[str]:
    """The module-level names, and the names a class body binds (``alwaysUsed = {...}``, read
    as ``self.alwaysUsed``), whose assignment spans one of ``lines``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names: list[str] = []
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for node in [*tree.body, *(statement for c in classes for statement in c.body)]:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        if not lines & set(range(node.lineno, (node.end_lineno or node.lineno) + 1)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return names


def _qualified_functions(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The top-level functions and methods (of classes at any depth) under `tree`, each with its
    qualified name; a function's own nested functions are not among them."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.ClassDef):
            yield from _qualified_functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + child.name, child


def _decorated_by(source: str, name: str) -> list[str]:
    """Qualified names of the top-level functions and methods decorated with the top-level
    function `name` (``@name`` or ``@name(...)``)."""
    if "." in name:
        return []
    found: list[str] = []
    for qualname, function in _qualified_functions(ast.parse(source)):
        for decorator in function.decorator_list:
            called = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(called, ast.Name) and called.id == name:
                found.append(qualname)
                break
    return found


def _callers(source: str, name: str) -> list[str]:
    """Qualified names of the top-level functions and methods whose body uses `name`."""
    found: list[str] = []
    for qualname, function in _qualified_functions(ast.parse(source)):
        used = {
            n.id if isinstance(n, ast.Name) else n.attr
            for n in ast.walk(function)
            if isinstance(n, ast.Name | ast.Attribute)
        }
        if name in used and function.name != name:
            found.append(qualname)
    return found
