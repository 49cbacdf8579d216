"""The changed functions of Python per-test selection (:mod:`.per_test`): the innermost function
or method holding each changed statement, found by parsing, never running. The choice itself is
language-neutral (:mod:`jobs.testgen.test_choice`)."""

from __future__ import annotations

import ast
from pathlib import Path

from jobs.testgen import line_sets


def changed_functions(checkout: Path, changed_exec: line_sets.Lines) -> dict[str, line_sets.Lines]:
    """ "path::qualname" of the innermost function or method holding each changed statement ->
    those statements (parsed, never run); module-level statements are left out."""
    functions: dict[str, line_sets.Lines] = {}
    for path, lines in sorted(changed_exec.items()):
        try:
            tree = ast.parse((checkout / path).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        spans = _function_spans(tree)
        for line in lines:
            around = [s for s in spans if s[0] <= line <= s[1]]
            if around:
                name = max(around, key=lambda s: s[0])[2]  # the innermost starts last
                functions.setdefault(f"{path}::{name}", {}).setdefault(path, set()).add(line)
    return functions


def _function_spans(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and method."""
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                spans.append((child.lineno, end, prefix + child.name))
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return spans
