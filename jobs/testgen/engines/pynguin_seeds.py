"""Pynguin's initial population from the project's own tests.

Pynguin 0.48 seeds its first generation from existing test cases when given
``--initial-population-seeding True --initial-population-data DIR``: it walks ``DIR``, reads
the *first* file whose name holds ``test_`` and the module's last name component, parses it
with libcst (never imports it) and turns each top-level ``test_*`` function into a test case,
admitting the statements it can resolve against the module under test (a call it cannot
resolve, a fixture argument, an unknown import is left out, not an error; a file it cannot
parse gives no seeds). So Tandem writes exactly one file there: the test files that call the
module, merged into one module.

Which files call the module is decided the way the other engines' seeds are
(:func:`jobs.testgen.engines.seed_sources.test_expressions`: the file imports the module and calls
one of its names). Pure: source text in, source text out.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from jobs.testgen.engines.seed_sources import PURE_BUILTINS, test_expressions

# Pynguin parses the whole seed file before its search starts; a few files are enough to
# give it the project's inputs.
MAX_SEED_FILES = 8


def seed_file_name(module: str) -> str:
    """The name Pynguin looks for: ``test_`` and the module's last component."""
    return f"test_{module.rsplit('.', 1)[-1]}.py"


def calling_tests(tests: Mapping[str, str], module: str) -> list[str]:
    """The test files (sorted) whose functions call `module`'s names."""
    found = [path for path in sorted(tests) if _calls_module(tests[path], module)]
    return found[:MAX_SEED_FILES]


def _calls_module(source: str, module: str) -> bool:
    # An expression over the module's names (what test_expressions rewrites them to) that is
    # not a bare constant or a builtin's call.
    return any(
        isinstance(node, ast.Name) and node.id not in PURE_BUILTINS
        for expression in test_expressions(source, module)
        for node in ast.walk(expression)
    )


def seed_module(tests: Mapping[str, str], paths: list[str]) -> str:
    """One module holding the files' top-level statements in order (``__future__`` imports
    dropped: they are only valid at the top of a file and say nothing about inputs)."""
    body: list[ast.stmt] = []
    for path in paths:
        try:
            statements = ast.parse(tests[path]).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the project's own broken file gives no seeds
        for statement in statements:
            if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
                continue
            body.append(statement)
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n"
