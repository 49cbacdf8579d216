"""Measuring functions: which files the review can read, and the numbers of each function.

Python is measured with radon (cyclomatic complexity) and the ``ast`` module (length,
nesting, parameters). Every other language lizard knows goes through lizard. Nothing here
does I/O or knows a threshold: :mod:`jobs.review.rules` decides what the numbers mean.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import lizard
from lizard_languages import get_reader_for
from radon.complexity import cc_visit, cc_visit_ast
from radon.visitors import Class as RadonClass
from radon.visitors import Function as RadonFunction

__all__ = [
    "AnalysisError",
    "FunctionMetrics",
    "is_python",
    "is_reviewable",
    "language_enabled",
    "language_of",
    "measure_functions",
    "measure_lizard",
    "measure_python",
]

PYTHON_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})


@dataclass(frozen=True)
class FunctionMetrics:
    """Measurements of one function (or method) in one version of a file."""

    name: str  # qualified name, e.g. "Parser.parse_args" or "outer.inner"
    start_line: int  # the line of the definition itself ("def ...", not a decorator)
    end_line: int
    complexity: int
    length: int
    nesting: int
    parameters: int
    span_start: int = 0  # first line that belongs to the function (decorators); 0 = start_line

    def overlaps(self, lines: Iterable[int]) -> bool:
        first = self.span_start or self.start_line
        return any(first <= n <= self.end_line for n in lines)


class AnalysisError(Exception):
    """A file could not be measured for a reason other than a syntax error."""


# --------------------------------------------------------------------------------------------
# languages


def is_python(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in PYTHON_SUFFIXES


def is_reviewable(path: str) -> bool:
    """True if the review knows how to measure this file type."""
    return is_python(path) or get_reader_for(path) is not None


_C_SUFFIXES = frozenset({".c", ".h"})


def language_of(path: str) -> str | None:
    """The language name used in ``refactoring_review.languages`` for ``path``, or None.

    Python is ``python``; everything else is lizard's name for it (``javascript``,
    ``typescript``, ``go``, ``java``, ``rust``, ...), with ``.c``/``.h`` as ``c`` and the
    other C-family suffixes as ``cpp``, ``.jsx`` as ``javascript`` and ``.tsx`` as
    ``typescript``.
    """
    if is_python(path):
        return "python"
    reader = get_reader_for(path)
    if reader is None:
        return None
    names = [str(n) for n in getattr(reader, "language_names", [])]
    suffix = PurePosixPath(path).suffix.lower()
    if "cpp" in names:
        return "c" if suffix in _C_SUFFIXES else "cpp"
    if "tsx" in names:
        return "typescript" if suffix == ".tsx" else "javascript"
    return names[0] if names else None


def language_enabled(path: str, languages: Collection[str] | None) -> bool:
    """Whether ``path`` is in one of ``languages`` (None: every language the review knows)."""
    language = language_of(path)
    if language is None:
        return False
    if languages is None:
        return True
    wanted = {lang.lower() for lang in languages}
    if language in wanted:
        return True
    reader = get_reader_for(path)
    aliases = {str(n) for n in getattr(reader, "language_names", [])} - {"c", "cpp"}
    return bool(aliases & wanted)


# --------------------------------------------------------------------------------------------
# measuring


def measure_functions(path: str, source: str) -> list[FunctionMetrics]:
    """Measure every function in ``source``; the language is chosen by ``path``'s suffix.

    Raises :class:`SyntaxError` for Python that does not parse, :class:`AnalysisError` when
    the file cannot be measured for another reason (or the language is not supported).
    """
    if is_python(path):
        return measure_python(source)
    return measure_lizard(path, source)


def measure_python(source: str) -> list[FunctionMetrics]:
    """Functions and methods of a Python module: radon complexity plus AST metrics."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes etc.
            tree = ast.parse(source)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise AnalysisError(f"cannot parse: {type(exc).__name__}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            complexity = _radon_complexities(source)
        return [
            _python_function(node, qualname, complexity)
            for node, qualname in _python_functions(tree.body, ())
        ]
    except RecursionError as exc:
        raise AnalysisError("cannot measure: nested too deeply") from exc


_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _python_functions(
    body: Sequence[ast.stmt] | Iterable[ast.AST], scope: tuple[str, ...]
) -> Iterable[tuple[_FunctionNode, str]]:
    """All function definitions with a qualified name, in source order."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = ".".join((*scope, node.name))
            yield node, qualname
            yield from _python_functions(ast.iter_child_nodes(node), (*scope, node.name))
        elif isinstance(node, ast.ClassDef):
            yield from _python_functions(ast.iter_child_nodes(node), (*scope, node.name))
        elif isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
            # functions defined under if/try/with/... keep the enclosing scope's name
            yield from _python_functions(ast.iter_child_nodes(node), scope)


def _radon_complexities(source: str) -> dict[tuple[int, str], int]:
    """Cyclomatic complexity per (definition line, name), from radon."""
    result: dict[tuple[int, str], int] = {}

    def add(block: Any) -> None:
        if isinstance(block, RadonFunction):
            result[(block.lineno, block.name)] = int(block.complexity)
            for closure in block.closures:
                add(closure)
        elif isinstance(block, RadonClass):
            for method in block.methods:
                add(method)
            for inner in block.inner_classes:
                add(inner)

    for block in cc_visit(source):
        if isinstance(block, RadonFunction) and block.is_method:
            continue  # methods are reached through their class, with their closures
        add(block)
    return result


def _python_function(
    node: _FunctionNode, qualname: str, complexity: dict[tuple[int, str], int]
) -> FunctionMetrics:
    cc = complexity.get((node.lineno, node.name))
    if cc is None:  # e.g. methods of a class defined inside a function: radon skips those
        blocks = cc_visit_ast(ast.Module(body=[node], type_ignores=[]))
        cc = int(blocks[0].complexity) if blocks else 1
    end = node.end_lineno or node.lineno
    span_start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return FunctionMetrics(
        name=qualname,
        start_line=node.lineno,
        end_line=end,
        complexity=cc,
        length=end - node.lineno + 1,
        nesting=_max_nesting(node.body, 0),
        parameters=_python_parameter_count(node.args),
        span_start=span_start,
    )


def _python_parameter_count(args: ast.arguments) -> int:
    positional = [*args.posonlyargs, *args.args]
    count = len(positional) + len(args.kwonlyargs)
    if positional and positional[0].arg in ("self", "cls"):
        count -= 1
    return count


_COMPOUND = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)


def _max_nesting(body: Sequence[ast.stmt], depth: int) -> int:
    """Deepest nesting of compound statements in ``body``, which sits at ``depth``.

    Nested function and class definitions are separate scopes and do not count. An
    ``elif`` is as deep as its ``if``.
    """
    deepest = depth
    for stmt in body:
        if not isinstance(stmt, _COMPOUND):
            continue
        inner = depth + 1
        blocks: list[Sequence[ast.stmt]] = []
        if isinstance(stmt, ast.If):
            blocks.append(stmt.body)
            orelse = stmt.orelse
            if (
                len(orelse) == 1
                and isinstance(orelse[0], ast.If)
                and orelse[0].col_offset == stmt.col_offset
            ):
                deepest = max(deepest, _max_nesting(orelse, depth))  # elif
            else:
                blocks.append(orelse)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            blocks += [stmt.body, stmt.orelse]
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            blocks.append(stmt.body)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            blocks += [stmt.body, stmt.orelse, stmt.finalbody]
            blocks += [h.body for h in stmt.handlers]
        elif isinstance(stmt, ast.Match):
            blocks += [case.body for case in stmt.cases]
        deepest = max(deepest, inner, *(_max_nesting(b, inner) for b in blocks))
    return deepest


def _lizard_extensions() -> list[Any]:
    # "nd" adds max_nesting_depth, which plain analyze_file leaves at 0. Fresh instances per
    # call (cheap), so concurrent reviews in threads share no extension state.
    return list(lizard.get_extensions(["nd"]))


def measure_lizard(path: str, source: str) -> list[FunctionMetrics]:
    """Functions of any language lizard supports (JavaScript, TypeScript, Go, Java, C, ...)."""
    if get_reader_for(path) is None:
        raise AnalysisError("language not supported")
    try:
        analyzer = lizard.FileAnalyzer(_lizard_extensions())
        info = analyzer.analyze_source_code(path, source)
    except RecursionError as exc:
        raise AnalysisError("cannot measure: nested too deeply") from exc
    except Exception as exc:  # lizard is a heuristic tokenizer; hostile input can trip it
        raise AnalysisError(f"lizard failed: {type(exc).__name__}") from exc
    result = []
    for fn in info.function_list:
        start, end = int(fn.start_line), int(fn.end_line)
        result.append(
            FunctionMetrics(
                name=str(fn.name),
                start_line=start,
                end_line=max(start, end),
                complexity=int(fn.cyclomatic_complexity),
                length=max(start, end) - start + 1,
                nesting=int(getattr(fn, "max_nesting_depth", 0) or 0),
                parameters=int(fn.parameter_count),
            )
        )
    return result
