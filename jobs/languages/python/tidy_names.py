"""Names for generated tests that say what they check (pure, ``ast``): ``test_0`` becomes
``test_<function>_<case>``.

The function is the checked call: the one inside ``with pytest.raises``, else the call whose
result the last ``==``/``is``/``isinstance`` assertion reads, else the test's last call. A
method call on an instance made in the test is ``<class>_<method>`` (``counter_bump``). The
case is the outcome (``raises_value_error``, ``returns_zero``, ``returns_none``,
``returns_empty_string``, ``creates_counter``), else what the arguments are (``empty_string``,
``none``, ``negative``, ``zero``, ``no_arguments``), else ``runs``. Names a person chose are
left alone (only ``test_<digits>`` and ``test_case_<digits>`` are renamed); a name that
repeats gets ``_2``, ``_3``… in source order, the first keeps the bare name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from jobs.languages.python.tidy import Prelude, TestCase, TidyError, parse_case

GENERIC_NAME = re.compile(r"test_(?:case_)?\d+")
_NAMED_VALUES = {
    "0": "zero",
    "1": "one",
    "True": "true",
    "False": "false",
    "None": "none",
    "''": "empty_string",
    "b''": "empty_bytes",
    "[]": "empty_list",
    "{}": "empty_dict",
    "()": "empty_tuple",
    "set()": "empty_set",
}


def snake(name: str) -> str:
    """``ValueError`` → ``value_error``; ``parse_ratio`` stays."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "value"


def value_word(expr: ast.expr) -> str:
    """A word for a literal: ``zero``, ``none``, ``empty_string``, ``minus_3``, ``string``."""
    text = ast.unparse(expr)
    if text in _NAMED_VALUES:
        return _NAMED_VALUES[text]
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int | float):
        if isinstance(expr.value, int) and abs(expr.value) < 10_000:
            return str(expr.value)
        return "number"
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
        return (
            "minus_" + value_word(expr.operand)
            if isinstance(expr.operand, ast.Constant)
            else "negative"
        )
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str | bytes):
            return "string" if isinstance(expr.value, str) else "bytes"
        return "value"
    kinds = {ast.List: "list", ast.Dict: "dict", ast.Tuple: "tuple", ast.Set: "set"}
    return kinds.get(type(expr), "value")


def _calls(node: ast.AST) -> list[ast.Call]:
    found = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    return sorted(found, key=lambda c: (c.lineno, c.col_offset))


def _targets(calls: list[ast.Call]) -> list[ast.Call]:
    skip = ("isinstance", "issubclass", "pytest.raises", "len", "type")
    return [c for c in calls if ast.unparse(c.func) not in skip]


def _function_name(call: ast.Call, made_by: dict[str, str]) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in made_by:
            return f"{snake(made_by[owner.id])}_{snake(func.attr)}"
        return snake(func.attr)
    if isinstance(func, ast.Name):
        return snake(func.id)
    return "call"


def _argument_case(call: ast.Call) -> str:
    values = [*call.args, *(k.value for k in call.keywords)]
    if not values:
        return "no_arguments"
    words = [value_word(v) for v in values]
    for word in ("empty_string", "none", "empty_list", "empty_dict", "zero"):
        if word in words:
            return word
    if any(w.startswith("minus_") or w == "negative" for w in words):
        return "negative"
    return "runs"


def describe(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, str] | None:
    """(function, case) for a test function, or None when it calls nothing."""
    made_by: dict[str, str] = {}  # variable -> class (or function) whose call produced it
    results: dict[str, ast.Call] = {}
    for stmt in ast.walk(fn):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
        ):
            results[stmt.targets[0].id] = stmt.value
            func = stmt.value.func
            made_by[stmt.targets[0].id] = ast.unparse(func).rpartition(".")[2]
    for stmt in reversed(fn.body):
        if isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                ctx = item.context_expr
                if isinstance(ctx, ast.Call) and ast.unparse(ctx.func) == "pytest.raises":
                    inner = _targets(_calls(ast.Module(body=stmt.body, type_ignores=[])))
                    exc = ast.unparse(ctx.args[0]).rpartition(".")[2] if ctx.args else "error"
                    if inner:
                        return _function_name(inner[-1], made_by), "raises_" + snake(exc)
    for stmt in reversed(fn.body):
        if not isinstance(stmt, ast.Assert):
            continue
        test = stmt.test
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq | ast.Is)
            and test.left.id in results
        ):
            call = results[test.left.id]
            return _function_name(call, made_by), "returns_" + value_word(test.comparators[0])
        if (
            isinstance(test, ast.Call)
            and ast.unparse(test.func) == "isinstance"
            and len(test.args) == 2
            and isinstance(test.args[0], ast.Name)
            and test.args[0].id in results
        ):
            call = results[test.args[0].id]
            kind = ast.unparse(test.args[1]).rpartition(".")[2]
            return _function_name(call, made_by), "creates_" + snake(kind)
    calls = _targets(_calls(fn))
    if not calls:
        return None
    return _function_name(calls[-1], made_by), _argument_case(calls[-1])


def proposed_name(case: TestCase) -> str:
    """The name ``case`` should have (its own when a person chose it)."""
    if case.is_class or not GENERIC_NAME.fullmatch(case.name):
        return case.name
    try:
        node = parse_case(case)
    except TidyError:
        return case.name
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return case.name
    described = describe(node)
    if described is None:
        return case.name
    function, outcome = described
    if function.startswith("test_"):
        function = function.removeprefix("test_")
    return f"test_{function}_{outcome}"


def _renamed(case: TestCase, name: str) -> TestCase:
    if name == case.name:
        return case
    node = parse_case(case)
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    lines = case.source.splitlines(keepends=True)
    line = node.lineno - 1
    lines[line] = re.sub(rf"\bdef\s+{re.escape(case.name)}\b", f"def {name}", lines[line], count=1)
    return replace(case, name=name, source="".join(lines))


def name_tests(cases: list[TestCase], prelude: Prelude | None = None) -> list[TestCase]:
    """The cases, in order, each with the name it should have; names are unique and never
    collide with a name the prelude binds."""
    proposed = [proposed_name(c) for c in cases]
    taken = set(prelude.defined | prelude.modules) if prelude is not None else set()
    taken |= {c.name for c, p in zip(cases, proposed, strict=True) if p == c.name}
    named: list[TestCase] = []
    seen: dict[str, int] = {}
    for case, name in zip(cases, proposed, strict=True):
        if name == case.name:
            named.append(case)
            continue
        seen[name] = seen.get(name, 0) + 1
        final = name
        if seen[name] > 1 or name in taken:
            number = max(seen[name], 2)
            while f"{name}_{number}" in taken:
                number += 1
            seen[name], final = number, f"{name}_{number}"
        taken.add(final)
        named.append(_renamed(case, final))
    return named
