"""Python's pruning of a candidate test file (its ``Language.prune_tests``): validation
(:func:`jobs.testgen.validation.validate`) removes the top-level tests that failed, and the rest
must pass every run again. Parsed, never run.
"""

from __future__ import annotations

import ast
from pathlib import Path


def prune(checkout: Path, path: str, functions: set[str]) -> bool:
    """Remove top-level test functions from a test file. True when some test is left; False,
    and nothing removed, otherwise."""
    file = checkout / path
    text = file.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    drop: list[tuple[int, int]] = []
    remaining = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in functions:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            drop.append((start, node.end_lineno or node.lineno))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            remaining += node.name.startswith(("test", "Test"))
    if not drop or not remaining:
        return False
    lines = text.splitlines(keepends=True)
    for start, end in sorted(drop, reverse=True):
        del lines[start - 1 : end]
    file.write_text("".join(lines))
    return True
