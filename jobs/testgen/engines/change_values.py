"""What the changed lines name that a project test's own inputs can be made to take (test
amplification, :mod:`.amplify_variants`): the built-in exceptions they catch or raise, and the
small numbers they compare with. Pure: the two versions of a file in, names and numbers out.

- A change to how errors are handled (``except KeyError`` becomes ``except (TypeError,
  KeyError)``, a callback's ``KeyError`` is no longer swallowed) differs from its base only
  where something raises that exception: a function the test defines and hands in (a name
  resolver, a callback) is made to raise it.
- A change to how an AST node is read (``isinstance(node.ctx, ast.Load)`` becomes ``(ast.Load,
  ast.Del)``) differs from its base only on source that holds that construct: a test's Python
  source gets it, on a name the source binds (``del b`` in a function of parameter ``b``).
- A change to what is done with one key of a mapping (``self._definition['uniqueItems']`` is
  read now; ``'propertyNames'`` dispatches to a changed handler) differs from its base only on
  a mapping that holds the key: a test's mapping of names that lacks it gets it, with an empty
  or plain value of each kind (``{}``, ``False``, ``0``, …).
- A change that compares a digit of a number (``tens == 9``, ``hundreds > 1``) differs from its
  base only where that digit takes the value: a test's number gets it at one of its digits
  (``10000`` → ``90000``).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from jobs.testgen.engines.char_classes import MAX_CHARS, classifying_chars
from jobs.testgen.engines.input_variants import changed_line_numbers

MAX_NAMES = 4
MAX_DIGITS = 4
MAX_CONSTRUCTS = 3  # sources with a construct added, per source
MAX_KEY_CHARS = 40  # a longer string is no key a test's mapping would hold
# A statement holding each construct an ``ast.X`` may name, on a name the source binds.
CONSTRUCTS = {
    "Del": "del {name}",
    "Delete": "del {name}",
    "AugAssign": "{name} += 1",
    "AnnAssign": "{name}: int = 1",
    "Global": "global {name}",
    "Nonlocal": "nonlocal {name}",
    "Assert": "assert {name}",
}


def raised_builtins(base: str, head: str) -> tuple[str, ...]:
    """The built-in exception classes the changed lines of either version name in an ``except``
    clause or a ``raise`` statement, in order of appearance, at most MAX_NAMES."""
    found: list[str] = []
    for node in _changed_nodes(base, head):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            found += [t.id for t in types if isinstance(t, ast.Name)]
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            found += [exc.id] if isinstance(exc, ast.Name) else []
    return tuple(n for n in dict.fromkeys(found) if _is_builtin_exception(n))[:MAX_NAMES]


def compared_digits(base: str, head: str) -> tuple[int, ...]:
    """The one-digit numbers (1 to 9) the changed lines of either version compare with, in
    order of appearance, at most MAX_DIGITS."""
    found: list[int] = []
    for node in _changed_nodes(base, head):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and type(side.value) is int:
                    found.append(side.value)
    return tuple(d for d in dict.fromkeys(found) if 1 <= d <= 9)[:MAX_DIGITS]


def ast_constructs(base: str, head: str) -> tuple[str, ...]:
    """The AST node classes the changed lines of either version name (``ast.Del``) that
    CONSTRUCTS can write, in order of appearance."""
    found = [
        node.attr
        for node in _changed_nodes(base, head)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ast"
        and node.attr in CONSTRUCTS
    ]
    return tuple(dict.fromkeys(found))[:MAX_NAMES]


def with_construct(source: str, constructs: tuple[str, ...]) -> list[str]:
    """`source` with a statement of each construct added on a name it binds: at the start of a
    function's body for its parameter, after an assignment for its target; each still parses
    (MAX_CONSTRUCTS at most)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    lines = source.splitlines(keepends=True)
    places: list[tuple[int, int, str]] = []  # insert before line index, indent, name
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            places += [(first.lineno - 1, first.col_offset, a.arg) for a in node.args.args]
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            places += [(node.end_lineno or node.lineno, node.col_offset, n) for n in names]
    # A name the source never reads first: there the construct is the only use of it.
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    places.sort(key=lambda place: place[2] in read)
    out: list[str] = []
    for construct in constructs:
        for at, indent, name in places:
            statement = " " * indent + CONSTRUCTS[construct].format(name=name) + "\n"
            text = "".join([*lines[:at], statement, *lines[at:]])
            if at <= len(lines) and _parses(text) and text not in out:
                out.append(text)
    return out[:MAX_CONSTRUCTS]


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def with_digits(value: int, digits: tuple[int, ...]) -> list[int]:
    """`value` with one of its digits replaced by each of `digits`, its leading digit first
    (``10000`` with 9 gives ``90000``, then ``19000``, …); only for numbers of two or more
    digits, whose digits a change can read apart."""
    text = str(abs(value))
    if len(text) < 2:
        return []
    sign = -1 if value < 0 else 1
    out = [
        sign * int(text[:i] + str(d) + text[i + 1 :])
        for i in range(len(text))
        for d in digits
        if text[i] != str(d)
    ]
    return [v for v in dict.fromkeys(out) if v != value]


def read_keys(base: str, head: str) -> tuple[str, ...]:
    """The string keys the change reads from a mapping, in order of appearance, at most
    MAX_NAMES: those its changed lines read (``d['uniqueItems']``, ``d.get('key')``, ``'key'
    in d``), then those a table of the head binds to a function or method the change touched
    (``('propertyNames', self.generate_property_names)``, ``{'propertyNames': handler}``), where
    the module dispatches a mapping's keys to their handlers."""
    found: list[str] = []
    for node in sorted(_changed_nodes(base, head), key=_place):
        found += _keys_read(node)
    try:
        tree = ast.parse(head)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is not None:
        touched = _touched_functions(tree, changed_line_numbers(base, head)[1])
        for node in ast.walk(tree):
            pairs: list[tuple[ast.expr | None, ast.expr]] = []
            if isinstance(node, ast.Tuple) and len(node.elts) == 2:
                pairs = [(node.elts[0], node.elts[1])]
            elif isinstance(node, ast.Dict):
                pairs = list(zip(node.keys, node.values, strict=True))
            found += [
                key.value
                for key, value in pairs
                if isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _referenced(value) in touched
            ]
    return tuple(k for k in dict.fromkeys(found) if 0 < len(k) <= MAX_KEY_CHARS)[:MAX_NAMES]


def _place(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _keys_read(node: ast.AST) -> list[str]:
    """The string keys one node reads: ``x['k']``, ``x.get('k')``, ``'k' in x``."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return [node.slice.value] if isinstance(node.slice.value, str) else []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        first = node.args[0]
        if node.func.attr in ("get", "pop", "setdefault") and isinstance(first, ast.Constant):
            return [first.value] if isinstance(first.value, str) else []
    if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
        left = node.left
        return (
            [left.value] if isinstance(left, ast.Constant) and isinstance(left.value, str) else []
        )
    return []


def _touched_functions(tree: ast.Module, lines: set[int]) -> set[str]:
    """The names of the head's functions and methods that hold a changed line."""
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(node.lineno <= line <= (node.end_lineno or node.lineno) for line in lines)
    }


def _referenced(node: ast.expr) -> str:
    """The function a table's value names (``handler``, ``self.handler``); "" for others."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def _is_builtin_exception(name: str) -> bool:
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, Exception)


def _changed_nodes(base: str, head: str) -> list[ast.AST]:
    """The statements, handlers and expressions that start on a changed line of either version."""
    removed, added = changed_line_numbers(base, head)
    nodes: list[ast.AST] = []
    for source, lines in ((base, removed), (head, added)):
        if not lines:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        nodes += [n for n in ast.walk(tree) if getattr(n, "lineno", None) in lines]
    return nodes


@dataclass(frozen=True)
class Aims:
    """What a variant's inputs may take from the change beyond its string tokens."""

    raises: tuple[str, ...] = ()  # built-in exceptions a function the test defines raises
    digits: tuple[int, ...] = ()  # digits a test's number gets at one of its places
    constructs: tuple[str, ...] = ()  # AST node classes a test's Python source gets
    keys: tuple[str, ...] = ()  # keys a test's mapping of names gets, where it lacks them
    chars: tuple[str, ...] = ()  # characters at the edge of a class the change tests

    @classmethod
    def of(cls, versions: list[tuple[str, str]]) -> Aims:
        """The aims of the changed files' (base, head) texts."""
        raises = [n for base, head in versions for n in raised_builtins(base, head)]
        digits = [d for base, head in versions for d in compared_digits(base, head)]
        constructs = [c for base, head in versions for c in ast_constructs(base, head)]
        keys = [k for base, head in versions for k in read_keys(base, head)]
        chars = [c for base, head in versions for c in classifying_chars(base, head)]
        return cls(
            tuple(dict.fromkeys(raises))[:MAX_NAMES],
            tuple(dict.fromkeys(digits))[:MAX_DIGITS],
            tuple(dict.fromkeys(constructs))[:MAX_NAMES],
            tuple(dict.fromkeys(keys))[:MAX_NAMES],
            tuple(dict.fromkeys(chars))[:MAX_CHARS],
        )


NO_AIMS = Aims()
