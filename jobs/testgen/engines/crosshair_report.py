"""CrossHair's pytest report rebuilt into Tandem's tests (the engine is :mod:`.crosshair`).

CrossHair writes one ``def test_...`` per path it chose: ``assert f(args) == result`` or
``with pytest.raises(Exc, match=...): f(args)``, calling the wrapper the engine made. Each is
parsed on its own (a repr with an address is not even Python) and rebuilt with ``ast``: a call
of the real callable (``Class.method(obj, ...)``, ``obj.prop``, ``Class(...)`` for a
constructor), a ``test_<callable>_<case>`` name from the result or exception, and exactly the
imports it uses. Dropped: tests whose arguments or expected value hold a lambda, a bare
function, class or object name, an address, ``object()``, or a name nothing imports.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys
from dataclasses import dataclass

from jobs.testgen.engines.callables import ChangedCallable
from jobs.testgen.engines.seed_sources import name_node

WRAPPED = "tandem_target"  # the wrapper function's name in every wrapper module
WRAPPER_PREFIX = "tandem_crosshair_"  # the wrapper modules' names
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}")


@dataclass
class Case:
    """One rebuilt test: its function body and the names it needs imported."""

    stem: str  # test_<callable>_<case>, before de-duplication
    body: str  # source, unindented
    imports: list[str]  # the import lines the body needs


def rebuild(report: str, item: ChangedCallable, module: str, source: str) -> tuple[list[Case], int]:
    """The usable tests in a CrossHair pytest report, rebuilt to call the real callable, and
    how many were dropped."""
    available = {n: f"from {module} import {n}" for n in _module_names(source)}
    header, _, _ = report.partition("\ndef test_")
    available |= _report_imports(header)
    cases, dropped = [], 0
    for block in re.split(r"(?m)^(?=def test_)", report)[1:]:
        if _ADDRESS.search(block):
            dropped += 1
            continue
        try:
            function = ast.parse(block).body[0]
        except (SyntaxError, IndexError):
            dropped += 1
            continue
        case = (
            _case(function, item, available, source)
            if isinstance(function, ast.FunctionDef)
            else None
        )
        if case is None:
            dropped += 1
        else:
            cases.append(case)
    return cases, dropped


def _report_imports(header: str) -> dict[str, str]:
    """Name -> import line, from the imports CrossHair put above its tests (not the wrapper's)."""
    imports: dict[str, str] = {}
    for line in header.splitlines():
        try:
            statement = ast.parse(line.strip()).body[0] if line.strip() else None
        except SyntaxError:
            continue
        if isinstance(statement, ast.ImportFrom) and statement.module:
            if statement.module.startswith(WRAPPER_PREFIX):
                continue
            for alias in statement.names:
                name = alias.asname or alias.name
                imports[name] = f"from {statement.module} import {ast.unparse(alias)}"
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                name = (alias.asname or alias.name).split(".")[0]
                imports[name] = f"import {ast.unparse(alias)}"
    return imports


def _case(
    function: ast.FunctionDef, item: ChangedCallable, available: dict[str, str], source: str
) -> Case | None:
    statement = function.body[0] if function.body else None
    exception: ast.expr | None = None
    match: ast.expr | None = None
    expected: ast.expr | None = None
    if (
        isinstance(statement, ast.Assert)
        and isinstance(statement.test, ast.Compare)
        and isinstance(statement.test.left, ast.Call)
        and len(statement.test.comparators) == 1
    ):
        call, expected = statement.test.left, statement.test.comparators[0]
    elif (
        isinstance(statement, ast.With)
        and isinstance(raises := statement.items[0].context_expr, ast.Call)
        and raises.args
        and isinstance(statement.body[0], ast.Expr)
        and isinstance(statement.body[0].value, ast.Call)
    ):
        call, exception = statement.body[0].value, raises.args[0]
        match = next((k.value for k in raises.keywords if k.arg == "match"), None)
        # CrossHair runs its own models of C code (datetime, int(), ...), whose messages
        # differ from CPython's: keep a message only when the project's source spells it.
        if not (
            isinstance(match, ast.Constant)
            and isinstance(match.value, str)
            and re.sub(r"\\(.)", r"\1", match.value) in _string_literals(source)
        ):
            match = None
    else:
        return None
    if not (isinstance(call.func, ast.Name) and call.func.id == WRAPPED):
        return None
    if not all(_plain(arg) for arg in [*call.args, *(k.value for k in call.keywords)]):
        return None
    if expected is not None and not _plain(expected):
        return None
    if (
        expected is not None
        and isinstance(expected, ast.Call)
        and _dotted(expected.func) == "object"
    ):
        return None  # compares identity, not a value
    real = _real_call(call, item)
    if real is None:
        return None
    stem = f"test_{'_'.join(p.strip('_') for p in item.qualname.split('.'))}"
    if exception is not None:
        name = _dotted(exception)
        if not (name in available or _is_builtin_exception(name)):
            return None
        keywords = [ast.keyword("match", match)] if match is not None else []
        raises_call = ast.Call(name_node("pytest.raises"), [name_node(name)], keywords)
        body: list[ast.stmt] = [ast.With([ast.withitem(raises_call)], [ast.Expr(real)])]
        stem += f"_raises_{name.lower()}"
    elif item.name == "__init__":
        body, stem = [ast.Expr(real)], stem + "_constructs"
    else:
        assert expected is not None
        body = [ast.Assert(ast.Compare(real, [ast.Eq()], [expected]))]
        stem += f"_returns_{_slug(expected)}"
    needs = {n.id for n in ast.walk(ast.Module(body, [])) if isinstance(n, ast.Name)}
    needs -= {"pytest", *(n for n in needs if hasattr(builtins, n))}
    # `datetime.datetime(...)` in a repr names the module, whatever the source imports.
    modules = {
        n.value.id
        for n in ast.walk(ast.Module(body, []))
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id in sys.stdlib_module_names
    }
    if not needs <= available.keys() | modules:
        return None  # a name nothing imports
    imports = {f"import {n}" for n in modules} | {available[n] for n in needs - modules}
    pytest = ["import pytest"] if exception is not None else []
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body, [])))
    return Case(stem, text, pytest + sorted(imports))


def _real_call(call: ast.Call, item: ChangedCallable) -> ast.expr | None:
    """The wrapper's call as a use of the real callable."""
    args, keywords = list(call.args), list(call.keywords)
    if item.kind == "property":
        return ast.Attribute(args[0], item.name) if len(args) == 1 and not keywords else None
    if item.name == "__init__" and item.owner:
        return ast.Call(name_node(item.owner), args[1:], keywords) if args else None
    return ast.Call(name_node(item.qualname), args, keywords)


def _plain(node: ast.expr) -> bool:
    """Whether a value is spelled only with literals and constructor calls: no lambda, no bare
    function, class or object name (an UPPER_CASE attribute, an enum member, is fine)."""
    named: set[int] = set()  # the dotted names that are called, or are enum members
    for sub in ast.walk(node):
        head = sub.func if isinstance(sub, ast.Call) else sub
        if head is sub and not (isinstance(sub, ast.Attribute) and sub.attr.isupper()):
            continue
        while isinstance(head, ast.Attribute):
            named.add(id(head))
            head = head.value
        named.add(id(head))
    for sub in ast.walk(node):
        if isinstance(sub, ast.Lambda | ast.NamedExpr | ast.Starred | ast.Await):
            return False
        if isinstance(sub, ast.Name | ast.Attribute) and id(sub) not in named:
            return False
    return True


def _slug(expected: ast.expr) -> str:
    try:
        value = ast.literal_eval(expected)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        name = _dotted(expected.func if isinstance(expected, ast.Call) else expected)
        return re.sub(r"\W+", "_", name.rsplit(".", 1)[-1].lower()).strip("_") or "value"
    if value is None or isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        text = repr(value).replace("-", "minus_").replace(".", "_").replace("+", "")
        return re.sub(r"\W", "_", text)[:16]
    if isinstance(value, str | bytes):
        kind = "string" if isinstance(value, str) else "bytes"
        text = value if isinstance(value, str) else value.decode("latin-1")
        words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:24].strip("_")
        return words if words and value else f"empty_{kind}" if not value else kind
    kind = type(value).__name__
    return f"{kind}" if value else f"empty_{kind}"


def render(path: str, cases: list[Case]) -> str:
    """One test file: a header, the imports the tests use, the tests sorted and de-duplicated
    with unique ``test_<callable>_<case>`` names."""
    unique: dict[str, Case] = {}
    for case in sorted(cases, key=lambda c: (c.stem, c.body)):
        unique.setdefault(case.body, case)
    imports = {line for case in unique.values() for line in case.imports}
    # isort's groups: the standard library, pytest, the project (and whatever it imports).
    stdlib = {line for line in imports if line.split()[1].split(".")[0] in sys.stdlib_module_names}
    groups = [
        sorted(stdlib),
        sorted(imports & {"import pytest"}),
        sorted(imports - stdlib - {"import pytest"}),
    ]
    text = f"# Tests for {path}, generated by CrossHair for Tandem and validated before delivery.\n"
    text += "\n\n".join("\n".join(group) for group in groups if group) + "\n"
    used: dict[str, int] = {}
    for body, case in unique.items():
        used[case.stem] = used.get(case.stem, 0) + 1
        name = case.stem if used[case.stem] == 1 else f"{case.stem}_{used[case.stem]}"
        indented = "\n".join("    " + line for line in body.splitlines())
        text += f"\n\ndef {name}() -> None:\n{indented}\n"
    return text


def _string_literals(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _module_names(source: str) -> set[str]:
    """Top-level names a source module defines or imports (classes, functions, aliases)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    return names


def _is_builtin_exception(name: str) -> bool:
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""
