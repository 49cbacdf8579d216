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
one of its names), among the files with a top-level test function. Pure: source text in, source
text out.

The merged module holds only what Pynguin reads: the top-level test functions and the imports
whose names they use. Pynguin analyses every module a seed file imports (other than the one under
test) before its search starts: on pypika, a seed file of its test files' 9 imports alone kept
Pynguin from starting its search for 120 s, while their ``unittest.TestCase`` classes give Pynguin
nothing; the seeded run timed out with no test at all, where the same run without seeds wrote 32
in 50 s. Files with no top-level test function give no seed module.
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
    """The test files (sorted) with a top-level test function, whose functions call `module`'s
    names."""
    found = [
        path
        for path in sorted(tests)
        if _test_functions(_parsed(tests[path])) and _calls_module(tests[path], module)
    ]
    return found[:MAX_SEED_FILES]


def _parsed(source: str) -> list[ast.stmt]:
    try:
        return ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # the project's own broken file gives no seeds


def _test_functions(statements: list[ast.stmt]) -> list[ast.FunctionDef]:
    """What Pynguin turns into test cases: the top-level ``test_*``/``seed_test_*`` functions."""
    return [
        s
        for s in statements
        if isinstance(s, ast.FunctionDef) and s.name.startswith(("test_", "seed_test_"))
    ]


def _used_import(statement: ast.stmt, used: set[str]) -> ast.stmt | None:
    """The import with only the names ``used`` binds (None: none, or no import; a
    ``__future__`` import is only valid at the top of a file and says nothing about inputs)."""
    if isinstance(statement, ast.ImportFrom) and statement.module != "__future__":
        names = [a for a in statement.names if (a.asname or a.name) in used]
        return ast.ImportFrom(statement.module, names, statement.level) if names else None
    if isinstance(statement, ast.Import):
        names = [a for a in statement.names if (a.asname or a.name.split(".")[0]) in used]
        return ast.Import(names) if names else None
    return None


def _calls_module(source: str, module: str) -> bool:
    # An expression over the module's names (what test_expressions rewrites them to) that is
    # not a bare constant or a builtin's call.
    return any(
        isinstance(node, ast.Name) and node.id not in PURE_BUILTINS
        for expression in test_expressions(source, module)
        for node in ast.walk(expression)
    )


def seed_module(tests: Mapping[str, str], paths: list[str]) -> str | None:
    """One module holding the files' top-level test functions in order, each file's imports of
    the names they use before them; None where the files have no such function."""
    body: list[ast.stmt] = []
    for path in paths:
        statements = _parsed(tests[path])
        functions = _test_functions(statements)
        used = {n.id for f in functions for n in ast.walk(f) if isinstance(n, ast.Name)}
        body += [i for s in statements if (i := _used_import(s, used)) is not None]
        body += functions
    if not any(isinstance(s, ast.FunctionDef) for s in body):
        return None
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n"
