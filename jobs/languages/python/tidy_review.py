"""Review of one generated test (pure, ``ast``): remove Pynguin's filler, reject what a
reviewer would not keep, and say why. Used through :func:`review`; see :mod:`.tidy`.

Removed from a test (noted in ``TestCase.notes``): assertions that read only module-level
names (``assert calc_.LIMIT == 100``: no call of the code under test is involved),
assertions true by the assignment just before them (``var_0 = 5`` … ``assert var_0 == 5``)
and bare expression statements (``tuple``).

Rejected (the whole test): passing a function, class, module or builtin as an argument
(``apply(func=repr, …)``, also through an alias ``var_1 = repr``) and asserting on text that
only a repr of such a thing, or of an object by address, contains (``<function f at 0x…>``).
``isinstance``/``issubclass``/``pytest.raises`` take classes by design and are exempt.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field, replace

from jobs.languages.python.tidy import Prelude, TestCase, TidyError, parse_case

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_BUILTIN_REFERENCES = frozenset(
    n for n in dir(builtins) if not n.startswith("_") and callable(getattr(builtins, n))
)
_TAKE_CLASSES = ("isinstance", "issubclass", "pytest.raises", "type")
# Text of a repr that names a function, class, module or an object by its address.
_REPR_TEXT = re.compile(
    r"0x[0-9a-fA-F]{4,}|<(?:built-in (?:function|method)|function|class|module|bound method"
    r"|method|generator object|coroutine object|frame) "
)


@dataclass
class Reviewed:
    """A reviewed test: the cleaned case, or None and the reason it was rejected."""

    case: TestCase | None
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def _locals(fn: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
    return found


def _is_reference(expr: ast.expr, prelude: Prelude, local: set[str], aliases: set[str]) -> bool:
    """Whether an argument is a function, class, module or builtin rather than a value."""
    if isinstance(expr, ast.Name):
        if expr.id in aliases or expr.id in prelude.modules:
            return True
        if expr.id in local:
            return False
        return expr.id in _BUILTIN_REFERENCES or (
            expr.id in prelude.defined and not expr.id.isupper()
        )
    if isinstance(expr, ast.Attribute):
        root = expr
        while isinstance(root, ast.Attribute):
            root = root.value  # type: ignore[assignment]
        if isinstance(root, ast.Name) and root.id not in local:
            known = root.id in prelude.modules or root.id in _BUILTIN_REFERENCES
            return known and not expr.attr.isupper()
    return False


def _constant_only(test: ast.expr, prelude: Prelude, local: set[str]) -> bool:
    """``assert mod.NAME == <value>``: a module attribute compared with a value, no call of
    the code under test and no local variable involved."""
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq | ast.Is)
        and isinstance(test.left, ast.Attribute)
    ):
        return False
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    calls = [n for n in ast.walk(test.left) if isinstance(n, ast.Call)]
    return bool(names & prelude.modules) and not names & local and not calls


def _review_body(
    body: list[ast.stmt], prelude: Prelude, local: set[str], notes: list[str]
) -> tuple[list[ast.stmt], str]:
    aliases: set[str] = set()
    assigned: dict[str, str] = {}
    kept: list[ast.stmt] = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and ast.unparse(node.func) not in _TAKE_CLASSES:
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if _is_reference(arg, prelude, local - aliases, aliases):
                        what = ast.unparse(arg)
                        return [], f"passes `{what}` (a function, class or module) as argument"
            if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
                text = node.value if isinstance(node.value, str) else repr(node.value)
                if isinstance(stmt, ast.Assert) and _REPR_TEXT.search(text):
                    return [], f"asserts on a repr that names an object or address: {text!r:.60}"
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                if _is_reference(stmt.value, prelude, local - {target.id} - aliases, aliases):
                    aliases.add(target.id)
                if isinstance(stmt.value, ast.Constant | ast.UnaryOp | ast.List | ast.Tuple):
                    assigned[target.id] = ast.dump(stmt.value)
                else:
                    assigned.pop(target.id, None)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name | ast.Attribute):
            notes.append(f"removed the bare expression `{ast.unparse(stmt.value)}`")
            continue
        if isinstance(stmt, ast.Assert):
            if _constant_only(stmt.test, prelude, local):
                notes.append(f"removed `assert {ast.unparse(stmt.test)}` (a module constant)")
                continue
            test = stmt.test
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name)
                and len(test.ops) == 1
                and isinstance(test.ops[0], ast.Eq)
                and assigned.get(test.left.id) == ast.dump(test.comparators[0])
            ):
                notes.append(f"removed `assert {ast.unparse(test)}` (true by assignment)")
                continue
        kept.append(stmt)
    return kept, ""


def review(case: TestCase, prelude: Prelude) -> Reviewed:
    """Clean a test up, or reject it with the reason (see the module docstring)."""
    try:
        node = parse_case(case)
    except TidyError as exc:
        return Reviewed(None, str(exc))
    notes: list[str] = []
    functions = (
        [node]
        if isinstance(node, _FUNCTIONS)
        else [n for n in node.body if isinstance(n, _FUNCTIONS)]
    )
    for fn in functions:
        body, reason = _review_body(fn.body, prelude, _locals(fn), notes)
        if reason:
            return Reviewed(None, reason, notes)
        if not body:
            return Reviewed(None, "nothing left to check after removing " + notes[-1], notes)
        fn.body = body
    if not notes:
        return Reviewed(case, "", notes)
    source = ast.unparse(node) + "\n"
    return Reviewed(replace(case, source=source, notes=(*case.notes, *notes)), "", notes)
