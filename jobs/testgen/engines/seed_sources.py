"""Where seeds come from: the ``>>>`` sessions of a module's docstrings and the test functions
of the repository's test files, read with ``ast`` (never imported or executed).

Each statement's expressions are *translated* into the target module's namespace: a name a
test imports from the module becomes the module's own name (``from pkg import calc`` makes
``calc.f`` into ``f``), a name bound earlier in the same doctest session or once in the same
test function (or by a ``pytest.mark.parametrize`` row) is replaced by its value, and anything
else (a fixture, a lambda, a comprehension, a name the scope cannot resolve) makes that part
unseedable. The largest translatable parts of each statement are yielded; :mod:`.seeds` picks
the ones that call a changed callable.
"""

from __future__ import annotations

import ast
import copy
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

MAX_CONSTANT_CHARS = 400
Definition = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
MAX_DOCSTRING_CHARS = 20_000
MAX_PARAMETRIZE_ROWS = 20
# Builtins a seed may use: pure constructors and helpers, nothing that touches the world.
_PURE = "abs bool bytearray bytes chr complex dict divmod float frozenset hex int len list max min"
_PURE += " iter oct ord pow range repr reversed round set slice sorted str sum tuple zip"
PURE_BUILTINS = frozenset([*_PURE.split(), "True", "False", "None", "Ellipsis", "NotImplemented"])
# Module-level names a seed may not start from, whatever the module binds to them.
_DENIED = "os sys subprocess shutil socket pathlib tempfile io builtins importlib ctypes signal"
_DENIED += " threading multiprocessing asyncio open exec eval compile input print exit quit"
DENIED_ROOTS = frozenset(
    [*_DENIED.split(), *["breakpoint", "globals", "locals", "vars", "getattr", "setattr"]]
)


@dataclass
class Scope:
    """How expressions in one place name the target module's contents."""

    module_names: set[str]  # names usable as they are (a doctest runs in the module's globals)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> module-level name
    module_refs: set[str] = field(default_factory=set)  # dotted local names of the module
    env: dict[str, ast.expr] = field(default_factory=dict)  # substituted locals, translated


def doctest_expressions(
    tree: ast.Module, top: set[str], module: str, defs: dict[str, Definition]
) -> Iterator[ast.expr]:
    """The seedable expressions of every ``>>>`` session in the module's docstrings (each
    docstring is one session, run in the module's globals)."""
    for holder in [tree, *defs.values()]:
        docstring = ast.get_docstring(holder, clean=False)
        if not docstring:
            continue
        scope = Scope(module_names=set(top))
        for statement in _doctest_statements(docstring[:MAX_DOCSTRING_CHARS]):
            yield from _process(statement, scope, module)


def _doctest_statements(docstring: str) -> Iterator[ast.stmt]:
    chunks: list[str] = []
    for line in docstring.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>> ") or stripped == ">>>":
            chunks.append(stripped[4:])
        elif (stripped.startswith("... ") or stripped == "...") and chunks:
            chunks[-1] += "\n" + stripped[4:]
    for chunk in chunks:
        try:
            yield from ast.parse(chunk).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue


def test_expressions(
    source: str, module: str, shared: Mapping[str, tuple[str, str]] | None = None
) -> Iterator[ast.expr]:
    """The seedable expressions of a test file's functions, over the module's names. `shared`:
    the names the module itself imports (:func:`imported_names`); a name the test imports from
    the same place under the same name is the module's too (``from typing import Optional`` in
    both: the test's ``extract_optional(Optional[int])`` is a seed)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    base = Scope(module_names=set())
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            _import(statement, base, module)
        if isinstance(statement, ast.ImportFrom) and not statement.level and shared:
            for alias in statement.names:
                local = alias.asname or alias.name
                if shared.get(local) == (statement.module, alias.name):
                    base.module_names.add(local)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        once = _assigned_once(function)
        for row in _parametrize_rows(function):
            scope = copy.copy(base)
            scope.aliases, scope.module_refs = dict(base.aliases), set(base.module_refs)
            translated = {k: _translate(v, scope) for k, v in row.items()}
            scope.env = {k: v for k, v in translated.items() if v is not None}
            for statement in _statements(function):
                if isinstance(statement, ast.Assign) and not (
                    len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                    and statement.targets[0].id in once
                ):
                    continue
                yield from _process(statement, scope, module)


def _statements(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.stmt]:
    """The function's statements in source order, without those of nested functions."""
    pending: list[ast.stmt] = list(function.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        yield statement
        pending[:0] = [s for s in ast.iter_child_nodes(statement) if isinstance(s, ast.stmt)]


def _assigned_once(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    counts: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            counts[node.id] = counts.get(node.id, 0) + 1
    return {name for name, count in counts.items() if count == 1}


def _parametrize_rows(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[dict[str, ast.expr]]:
    tables: list[list[dict[str, ast.expr]]] = []
    for decorator in function.decorator_list:
        if not (isinstance(decorator, ast.Call) and dotted(decorator.func).endswith("parametrize")):
            continue
        if len(decorator.args) < 2 or not isinstance(decorator.args[1], ast.List | ast.Tuple):
            continue
        names = literal_value(decorator.args[0])
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        if not (isinstance(names, list | tuple) and all(isinstance(n, str) for n in names)):
            continue
        rows = []
        for row in decorator.args[1].elts[:MAX_PARAMETRIZE_ROWS]:
            values = (
                [row]
                if len(names) == 1
                else row.elts
                if isinstance(row, ast.Tuple | ast.List)
                else []
            )
            if len(values) == len(names):
                rows.append(dict(zip(names, values, strict=True)))
        tables.append(rows)
    combined = [
        dict(itertools.chain(*(r.items() for r in combo))) for combo in itertools.product(*tables)
    ]
    return combined[:MAX_PARAMETRIZE_ROWS] or [{}]


def _process(statement: ast.stmt, scope: Scope, module: str) -> Iterator[ast.expr]:
    """The largest seedable parts of one statement's expressions; a simple assignment binds
    its name in the scope's env (any other binding forgets it)."""
    if isinstance(statement, ast.Import | ast.ImportFrom):
        _import(statement, scope, module)
        return
    value = _translate(statement.value, scope) if isinstance(statement, ast.Assign) else None
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            scope.env.pop(node.id, None)
            scope.module_names.discard(node.id)
    if isinstance(statement, ast.Assign):
        target = statement.targets[0]
        if len(statement.targets) == 1 and isinstance(target, ast.Name) and value is not None:
            scope.env[target.id] = value
    for node in ast.iter_child_nodes(statement):
        if isinstance(node, ast.withitem):
            node = node.context_expr
        if isinstance(node, ast.expr):
            yield from _seedable_parts(node, scope)


def _seedable_parts(node: ast.expr, scope: Scope) -> Iterator[ast.expr]:
    if (value := _translate(node, scope)) is not None:
        yield value
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr) and not isinstance(child, ast.Lambda):
            yield from _seedable_parts(child, scope)
        elif isinstance(child, ast.keyword):
            yield from _seedable_parts(child.value, scope)


def _import(statement: ast.Import | ast.ImportFrom, scope: Scope, module: str) -> None:
    if isinstance(statement, ast.ImportFrom):
        if statement.level or not statement.module:
            return
        for alias in statement.names:
            local = alias.asname or alias.name
            if statement.module == module and alias.name != "*":
                scope.aliases[local] = alias.name
            elif f"{statement.module}.{alias.name}" == module:
                scope.module_refs.add(local)
        return
    for alias in statement.names:
        if alias.name == module:
            scope.module_refs.add(alias.asname or alias.name)


def _translate(node: ast.expr, scope: Scope, depth: int = 0) -> ast.expr | None:
    """`node` rewritten over the module's top-level names, or None when it is not a seedable
    expression (a name the scope cannot resolve, a lambda, a comprehension, ...)."""
    if depth > 60:
        return None
    again = lambda child: _translate(child, scope, depth + 1)  # noqa: E731
    if isinstance(node, ast.Constant):
        return copy.copy(node) if len(repr(node.value)) <= MAX_CONSTANT_CHARS else None
    if isinstance(node, ast.Name):
        if node.id in scope.env:
            return copy.deepcopy(scope.env[node.id])
        if node.id in scope.aliases:
            return ast.Name(scope.aliases[node.id])
        if node.id in scope.module_names or node.id in PURE_BUILTINS:
            return ast.Name(node.id)
        return None
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):
            return None
        if dotted(node.value) in scope.module_refs:
            return ast.Name(node.attr)
        value = again(node.value)
        return ast.Attribute(value, node.attr) if value is not None else None
    if not isinstance(node, _COMPOUND) or (isinstance(node, ast.Dict) and None in node.keys):
        return None
    if any(isinstance(c, ast.Starred) for c in ast.iter_child_nodes(node)):
        return None
    rebuilt = copy.copy(node)
    for name, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            if (new := again(value)) is None:
                return None
            setattr(rebuilt, name, new)
        elif isinstance(value, list) and value and isinstance(value[0], ast.expr | ast.keyword):
            items: list[ast.AST] = []
            for element in value:
                keyword = element if isinstance(element, ast.keyword) else None
                new = again(keyword.value if keyword else element)
                if new is None or (keyword is not None and not keyword.arg):
                    return None
                items.append(ast.keyword(keyword.arg, new) if keyword else new)
            setattr(rebuilt, name, items)
    return rebuilt


_COMPOUND = (
    ast.Call, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp, ast.BoolOp,
    ast.Compare, ast.Subscript, ast.Slice,
)  # fmt: skip


def imported_names(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """The names a module binds with a top-level absolute ``from M import N [as L]``:
    L -> (M, N)."""
    return {
        alias.asname or alias.name: (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and not node.level and node.module
        for alias in node.names
        if alias.name != "*"
    }


def literal_value(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


# --- small helpers -------------------------------------------------------------------------


def top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def definitions(tree: ast.Module) -> dict[str, Definition]:
    """Qualified name -> class or function node, for the top-level ones and class members."""
    found: dict[str, Definition] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, Definition):
                found.setdefault(prefix + child.name, child)
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return node.id if isinstance(node, ast.Name) else ""


def name_node(dotted: str) -> ast.expr:
    parts = dotted.split(".")
    node: ast.expr = ast.Name(parts[0])
    for part in parts[1:]:
        node = ast.Attribute(node, part)
    return node
