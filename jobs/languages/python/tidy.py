"""Make a generated test file one a reviewer would keep (pure: parsed with ``ast``, never run).

A test module is split into its top-level tests and the prelude they share (docstring, imports,
helpers, fixtures): :func:`split_tests`. Each test is then reviewed
(:func:`jobs.languages.python.tidy_review.review`): Pynguin's
filler is removed (assertions on module constants, ``assert var_0 == 5`` right after
``var_0 = 5``, bare names such as ``tuple``), and a test is rejected, with the reason, when it
passes a function, class, module or builtin as an argument or asserts on a repr that names
one (``<function f at 0x7f…>``). Tests with uninformative names (``test_0``) are named for
what they check (:func:`jobs.languages.python.tidy_names.name_tests`), and :func:`join_tests` writes
the chosen tests back with only the prelude they use.

Pynguin marks a test that ends in an uncaught exception ``@pytest.mark.xfail(strict=True)``
(the raising call is the test's last statement). Which exception it is appears nowhere in the
file, and pytest does not report it for an xfail (the JUnit ``<skipped>`` message is empty).
Run the file once with ``--runxfail``: the marker is ignored, the test fails, and its JUnit
``<failure message=…>`` starts with the exception's name (``ValueError: …``, qualified when
not a builtin) and its text names the test file's line. :func:`raised_from_junit` reads that;
:func:`to_raises` rewrites the test to ``with pytest.raises(ValueError):`` around that last
statement. :mod:`.per_test` does exactly this in its one measured run.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

MAX_SOURCE_CHARS = 2_000_000
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class TidyError(ValueError):
    """The source is not a test module that can be split (it does not parse, or is huge)."""


@dataclass(frozen=True)
class Prelude:
    """Everything of a test module except its tests, in source order."""

    source: str
    modules: frozenset[str] = frozenset()  # names the prelude binds to imported modules
    defined: frozenset[str] = frozenset()  # every other name it binds


@dataclass(frozen=True)
class TestCase:
    """One top-level test: a function (possibly async/decorated) or a ``Test…`` class."""

    __test__ = False  # not a pytest class

    name: str
    source: str
    origin: str = ""  # the file it came from
    index: int = 0  # its position there
    is_class: bool = False
    # Pynguin's bare ``@pytest.mark.xfail(strict=True)``, or a final ``with pytest.raises(E):``
    # without ``match`` (unwrapped, so that the measured run names the message to pin)
    expects_exception: bool = False
    imports: tuple[str, ...] = ()  # import lines it needs beyond the prelude's
    notes: tuple[str, ...] = ()  # what review() removed from it
    original_name: str = ""

    @property
    def label(self) -> str:
        return f"{self.origin}::{self.original_name or self.name}"


@dataclass(frozen=True)
class Raised:
    """What an xfail test raised when run with ``--runxfail``."""

    exc_type: str  # "ValueError", "pkg.errors.ParseError"
    line: int | None  # the line of the test file the exception left through
    explicit: bool  # the innermost frame's line is a ``raise`` statement
    message: str = ""  # the exception's message, when it fits on the failure's first line


MAX_MATCHED_MESSAGE = 200
# What makes a message differ from one machine or run to another: addresses, absolute paths.
_UNSTABLE_MESSAGE = re.compile(r"\b0x[0-9a-fA-F]{4,}|(?:^|[\s'\"(=])/\w|[A-Za-z]:\\")


def raises_match(message: str) -> str:
    """``, match=...`` for ``pytest.raises`` that pins an exception's message, or "" when the
    message is empty, long, not printable or likely to change between machines. A changed
    message is often what a change is about ("Expected str object, not 'bytes'"), and a type
    alone would pass on the base commit too."""
    text = message.strip()
    if not text or len(text) > MAX_MATCHED_MESSAGE or not text.isprintable():
        return ""
    if _UNSTABLE_MESSAGE.search(text):
        return ""
    # re.escape would also escape spaces and quotes, which reads badly in a test.
    pattern = _REGEX_SPECIAL.sub(r"\\\g<0>", text)
    if "\\" in pattern and not pattern.endswith("\\"):
        for quote in ("'", '"'):
            if quote not in pattern:
                return f", match=r{quote}{pattern}{quote}"
    return f", match={pattern!r}"


_REGEX_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()]")


def _parse(source: str) -> ast.Module:
    if len(source) > MAX_SOURCE_CHARS:
        raise TidyError(f"too large to split ({len(source)} characters)")
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise TidyError(f"does not parse (line {line}): {exc}") from None


def _segment(lines: list[str], node: ast.stmt) -> str:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return "".join(lines[start - 1 : node.end_lineno or node.lineno]).rstrip() + "\n"


def _is_test(node: ast.stmt, module: ast.Module | None = None) -> bool:
    if isinstance(node, _FUNCTIONS):
        return node.name.startswith("test")
    if not isinstance(node, ast.ClassDef):
        return False
    if node.name.startswith("Test"):
        return True
    # pytest collects a unittest.TestCase subclass whatever its name (``Num2WordsRUTest``);
    # one with no tests of its own, or that another class of the module extends (a base such
    # as ``DRYTest``), is the prelude's.
    bases = {
        ast.unparse(b)
        for n in (module.body if module else [])
        if isinstance(n, ast.ClassDef)
        for b in n.bases
    }
    return (
        node.name not in bases
        and any(ast.unparse(b).rsplit(".", 1)[-1] == "TestCase" for b in node.bases)
        and any(isinstance(i, _FUNCTIONS) and i.name.startswith("test") for i in node.body)
    )


def _is_pynguin_xfail(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and ast.unparse(decorator.func) == "pytest.mark.xfail"
        and not decorator.args
        and [(k.arg, ast.unparse(k.value)) for k in decorator.keywords] == [("strict", "True")]
    )


def _bare_raises_last(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the test ends in ``with pytest.raises(E):`` around one statement, with no
    ``match`` and no ``as``: the form that passes whatever message the code raised with."""
    last = node.body[-1] if node.body else None
    if not isinstance(last, ast.With) or len(last.items) != 1 or len(last.body) != 1:
        return False
    item = last.items[0]
    call = item.context_expr
    return (
        item.optional_vars is None
        and isinstance(call, ast.Call)
        and ast.unparse(call.func) == "pytest.raises"
        and len(call.args) == 1
        and not call.keywords
    )


def _unwrap_raises(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The test with its final ``with pytest.raises(E):`` block replaced by the statement
    inside: an "expects an exception" test, which the measured run (``--runxfail``) reports
    with the exception's type and message, and :func:`to_raises` turns back into
    ``pytest.raises(E, match=...)``."""
    last = node.body[-1]
    assert isinstance(last, ast.With)
    node.body[-1] = last.body[0]
    return ast.unparse(node) + "\n"


def _sys_modules_alias(node: ast.stmt) -> ast.Import | None:
    """``x_ = sys.modules["a.b"]`` (Pynguin's way to name the module) as ``import a.b as x_``."""
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Subscript)
        and ast.unparse(node.value.value) == "sys.modules"
        and isinstance(node.value.slice, ast.Constant)
        and isinstance(node.value.slice.value, str)
        and all(p.isidentifier() for p in node.value.slice.value.split("."))
    ):
        alias = ast.alias(name=node.value.slice.value, asname=node.targets[0].id)
        return ast.Import(names=[alias])
    return None


def bound_names(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}
    if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
        return {node.name}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def split_tests(source: str, origin: str = "") -> tuple[Prelude, list[TestCase]]:
    """The module's prelude and its top-level tests, in source order. Raises TidyError."""
    tree = _parse(source)
    lines = source.splitlines(keepends=True)
    prelude: list[str] = []
    modules: set[str] = set()
    defined: set[str] = set()
    cases: list[TestCase] = []
    for node in tree.body:
        if _is_test(node, tree):
            assert isinstance(node, (*_FUNCTIONS, ast.ClassDef))
            expects = isinstance(node, _FUNCTIONS) and any(
                _is_pynguin_xfail(d) for d in node.decorator_list
            )
            source = _segment(lines, node)
            if isinstance(node, _FUNCTIONS) and not expects and _bare_raises_last(node):
                source, expects = _unwrap_raises(node), True
            cases.append(
                TestCase(
                    name=node.name,
                    source=source,
                    origin=origin,
                    index=len(cases),
                    is_class=isinstance(node, ast.ClassDef),
                    expects_exception=expects,
                    original_name=node.name,
                )
            )
            continue
        rewritten = _sys_modules_alias(node)
        if rewritten is not None:
            node = rewritten
            prelude.append(ast.unparse(node) + "\n")
        else:
            prelude.append(_segment(lines, node))
        names = bound_names(node)
        if isinstance(node, ast.Import):
            modules |= names
        else:
            defined |= names
    return Prelude("".join(prelude), frozenset(modules), frozenset(defined)), cases


def parse_case(case: TestCase) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef:
    """The case's function or class node. Raises TidyError."""
    body = _parse(case.source).body
    if len(body) != 1 or not isinstance(body[0], (*_FUNCTIONS, ast.ClassDef)):
        raise TidyError(f"{case.name}: not one test function or class")
    return body[0]


def to_raises(case: TestCase, exc_type: str, message: str = "") -> TestCase:
    """Pynguin's xfail test as ``with pytest.raises(exc_type, match=...):`` around its last
    statement (``var_3 = f(x)`` becomes ``f(x)``; no ``match`` when :func:`raises_match` gives
    none for ``message``). A dotted ``exc_type`` gets its module imported."""
    node = parse_case(case)
    if not isinstance(node, _FUNCTIONS) or not node.body:
        raise TidyError(f"{case.name} is not a test function with a body")
    module, _, name = exc_type.rpartition(".")
    if module == "builtins":
        exc_type, module = name, ""
    if not all(p.isidentifier() for p in exc_type.split(".")):
        raise TidyError(f"cannot name the exception type {exc_type!r}")
    node.decorator_list = [d for d in node.decorator_list if not _is_pynguin_xfail(d)]
    last = node.body[-1]
    if isinstance(last, ast.Assign | ast.AnnAssign) and last.value is not None:
        last = ast.Expr(value=last.value)
    raises = ast.parse(f"pytest.raises({exc_type}{raises_match(message)})", mode="eval").body
    node.body[-1] = ast.With(items=[ast.withitem(context_expr=raises)], body=[last])
    ast.fix_missing_locations(node)
    imports = ["import pytest", *([f"import {module}"] if module else [])]
    return replace(
        case,
        source=ast.unparse(node) + "\n",
        expects_exception=False,
        imports=tuple(dict.fromkeys([*case.imports, *imports])),
    )


_LOCATION = re.compile(r"^(?P<path>[^\s:][^:\n]*\.py):(?P<line>\d+): ", re.M)


def raised_from_junit(xml_text: str, test_path: str) -> dict[str, Raised]:
    """Per test name in ``test_path``: what it raised, from the JUnit XML of a ``--runxfail``
    run (pytest's ``<failure message="ExcType: text">`` and the traceback text)."""
    try:
        root = ET.fromstring(xml_text)  # written by pytest; no DTDs or entities
    except ET.ParseError:
        return {}
    found: dict[str, Raised] = {}
    module = test_path.removesuffix(".py").replace("/", ".")
    for testcase in root.iter("testcase"):
        failure = testcase.find("failure")
        if failure is None or testcase.get("classname") != module:
            continue
        message = failure.get("message") or ""
        exc_type, _, said = message.partition(":")
        exc_type = exc_type.strip()
        if not exc_type or not all(p.isidentifier() for p in exc_type.split(".")):
            continue
        text = failure.text or ""
        lines = [int(m["line"]) for m in _LOCATION.finditer(text) if m["path"] == test_path]
        marked = [ln for ln in text.splitlines() if ln.startswith(">")]
        explicit = bool(marked) and marked[-1][1:].strip().startswith("raise")
        found[testcase.get("name", "")] = Raised(
            exc_type,
            lines[0] if lines else None,
            explicit,
            said.strip() if "\n" not in said else "",
        )
    return found


def raises_problem(case: TestCase, raised: Raised, first_line: int = 1) -> str | None:
    """Why an xfail test's exception does not make a test worth keeping, or None.
    ``first_line``: where the case starts in the file that was run (see :func:`case_lines`)."""
    node = parse_case(case)
    if not isinstance(node, _FUNCTIONS) or not node.body:
        return "not a test function"
    last = node.body[-1]
    where = None if raised.line is None else raised.line - first_line + 1
    if where is None or not last.lineno <= where <= (last.end_lineno or last.lineno):
        return f"raised {raised.exc_type} before its last statement"
    if isinstance(last, ast.Assert) or raised.exc_type.endswith("AssertionError"):
        return "failed an assertion, so it is not an exception test"
    if raised.exc_type in ("TypeError", "AttributeError") and not raised.explicit:
        return f"{raised.exc_type} inside Python, not raised by the code: a wrong-type input"
    return None


def case_lines(joined: str) -> dict[str, int]:
    """The first line (decorators included) of each top-level test in a module."""
    starts: dict[str, int] = {}
    module = _parse(joined)
    for node in module.body:
        if _is_test(node, module):
            decorators = getattr(node, "decorator_list", [])
            starts[node.name] = min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]
    return starts


def _used_names(sources: list[str]) -> set[str]:
    used: set[str] = set()
    for source in sources:
        for node in ast.walk(_parse(source)):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.arg):
                used.add(node.arg)  # a fixture
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.update(re.findall(r"[A-Za-z_]\w*", node.value)[:20])  # usefixtures("x")
    return used


def _needed(node: ast.stmt, used: set[str], imported_as: set[str]) -> ast.stmt | None:
    """The statement with the names nothing uses removed; None when nothing is left."""
    if isinstance(node, ast.Import):
        names = [
            a
            for a in node.names
            if (a.asname or a.name.split(".")[0]) in used
            or ("." in a.name and not a.asname and a.name not in imported_as)
        ]
        return ast.Import(names=names) if names else None
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return node
        names = [a for a in node.names if a.name == "*" or (a.asname or a.name) in used]
        return ast.ImportFrom(module=node.module, names=names, level=node.level) if names else None
    if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
        autouse = any("autouse" in ast.unparse(d) for d in node.decorator_list)
        return node if autouse or node.name in used else None
    if isinstance(node, ast.Assign | ast.AnnAssign):
        bound = bound_names(node)
        calls = any(isinstance(n, ast.Call) for n in ast.walk(node))
        return node if calls or bound & (used | {"pytestmark"}) or not bound else None
    return node


def join_tests(prelude: Prelude, cases: list[TestCase]) -> str:
    """One module: the prelude statements the cases use (imports first), then the cases."""
    tree = _parse(prelude.source)
    sources = [c.source for c in cases]
    extra = [ast.parse(line).body[0] for c in cases for line in c.imports]
    imported_as = {
        a.name
        for n in [*tree.body, *extra]
        if isinstance(n, ast.Import)
        for a in n.names
        if a.asname
    }
    used = _used_names(sources)
    body = list(tree.body)
    while True:  # a fixed point: kept helpers keep what they use
        kept = [k for k in (_needed(n, used, imported_as) for n in body) if k is not None]
        more = _used_names([ast.unparse(k) for k in kept if not isinstance(k, ast.Import)])
        if more <= used:
            break
        used |= more
    docstring = kept[:1] if kept and _is_docstring(kept[0]) else []
    future = [k for k in kept if isinstance(k, ast.ImportFrom) and k.module == "__future__"]
    imports: list[str] = []
    for k in [*future, *(k for k in kept if isinstance(k, ast.Import | ast.ImportFrom)), *extra]:
        text = ast.unparse(k)
        if text not in imports and not (k in extra and _already(text, kept)):
            imports.append(text)
    rest = [
        k for k in kept if k not in docstring and not isinstance(k, ast.Import | ast.ImportFrom)
    ]
    parts = [ast.unparse(k) for k in docstring]
    if imports:
        parts.append("\n".join(imports))
    parts.extend(_text(prelude.source, k) for k in rest)
    parts.extend(s.rstrip() for s in sources)
    return "\n\n\n".join(parts) + "\n"


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _already(text: str, kept: list[ast.stmt]) -> bool:
    return any(ast.unparse(k) == text for k in kept)


def _text(source: str, node: ast.stmt) -> str:
    segment = _segment(source.splitlines(keepends=True), node) if node.end_lineno else None
    return (segment or ast.unparse(node)).rstrip()
