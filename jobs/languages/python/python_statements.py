"""Python's statements, read by parsing a source (never running it): which changed lines are
statements, counted on the statement's first line as coverage.py counts them
(:func:`changed_executable`, :func:`statement_starts`), and which functions hold some lines
(:func:`functions_touching`). The Python backend's ``changed_executable`` and
``functions_touching``; the plan (:mod:`jobs.testgen.stages`, :mod:`jobs.testgen.targets`)
reaches them only through the ``Language`` protocol.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.testgen.line_sets import Lines

if TYPE_CHECKING:
    from coverage.parser import PythonParser


def _parsed(checkout: Path, path: str) -> tuple[list[str], PythonParser] | None:
    from coverage.parser import PythonParser

    try:
        text = (checkout / path).read_text(encoding="utf-8", errors="replace")
        parser = PythonParser(text=text, filename=path)
        parser.parse_source()
    except Exception:  # a syntax error or anything else: nothing measurable
        return None
    return text.splitlines(), parser


def executable_lines(checkout: Path, path: str) -> set[int]:
    """Statement lines of a file no test imported (parsed, never executed)."""
    parsed = _parsed(checkout, path)
    return set(parsed[1].statements) if parsed else set()


def statement_starts(checkout: Path, path: str, lines: set[int]) -> set[int]:
    """The first lines of the statements that ``lines`` of a Python file are part of. Coverage
    counts a multi-line statement on its first line only, so a change to an element of a
    multi-line literal or call (a dict entry, a list item, an argument) changes that statement:
    without this it was "no changed statement", and nothing was tested. Blank and comment-only
    lines change no statement. A file that does not parse, or is not Python, keeps its lines."""
    return _starts(_parsed(checkout, path) if path.endswith(".py") else None, lines)


def _starts(parsed: tuple[list[str], PythonParser] | None, lines: set[int]) -> set[int]:
    if parsed is None:
        return lines
    text, parser = parsed
    code = {n for n in lines if 0 < n <= len(text) and text[n - 1].strip()[:1] not in ("", "#")}
    return set(parser.first_lines(code))


def changed_executable(checkout: Path, changed: Mapping[str, set[int]], statements: Lines) -> Lines:
    """The changed lines (``changed``) that are statements, each as its statement's first line:
    of those a run measured (``statements``), or, for a file no run measured, of those the
    parse finds."""
    result: Lines = {}
    for path, lines in changed.items():
        known = statements.get(path)
        python = path.endswith(".py")
        # one parse serves both: the statements of a file no run measured, and the starts
        parsed = _parsed(checkout, path) if python or known is None else None
        if known is None:
            known = set(parsed[1].statements) if parsed else set()
        result[path] = _starts(parsed if python else None, lines) & known
    return result


def functions_touching(source: str, lines: set[int]) -> list[str]:
    """Qualified names of the functions that contain a changed line."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qualified = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                if isinstance(child, ast.ClassDef):
                    visit(child, qualified + ".")
                elif any(child.lineno <= line <= end for line in lines):
                    names.append(qualified)
                    visit(child, qualified + ".")

    visit(tree, "")
    return names
