"""Issue 18's size limits on the product (bot/, core/, jobs/, tandem/), read from the source (an
AST walk, nothing imported): no module over 450 lines, no function over 80 lines, none with
more than 7 parameters (``self``/``cls`` not counted; the ``__init__`` a dataclass generates is
not in the source, so it is aside by construction).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "core", "jobs", "tandem")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
MAX_PARAMETERS = 7

# What may stay over the limits, each with why (empty: nothing may).
ALLOWED: frozenset[str] = frozenset()


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = node.args
    count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
    count += (args.vararg is not None) + (args.kwarg is not None)
    bound = args.posonlyargs + args.args
    if bound and bound[0].arg in ("self", "cls"):
        count -= 1
    return count


def over_the_limits(root: Path) -> list[str]:
    """``path`` (a module) or ``path:function`` for each product file or function over a
    limit, with what it measures."""
    found = []
    for package in PRODUCT:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            source = path.read_text(encoding="utf-8")
            if (lines := source.count("\n")) > MAX_MODULE_LINES:
                found.append(f"{name} ({lines} lines)")
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                count = parameters(node)
                if length > MAX_FUNCTION_LINES or count > MAX_PARAMETERS:
                    found.append(f"{name}:{node.name} ({length} lines, {count} parameters)")
    return found


def test_no_product_module_or_function_is_over_the_limits() -> None:
    over = [item for item in over_the_limits(ROOT) if item.split(" (")[0] not in ALLOWED]
    assert over == []


def test_the_allowlist_names_only_what_is_still_over() -> None:
    """An entry whose split has landed goes: the list only shrinks."""
    over = {item.split(" (")[0] for item in over_the_limits(ROOT)}
    assert sorted(ALLOWED - over) == []


def test_the_limits_see_long_modules_functions_and_parameter_lists(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    (tmp_path / "jobs" / "a.py").write_text(
        "import dataclasses\n\n\n"
        "@dataclasses.dataclass\nclass Many:\n"
        + "".join(f"    f{i}: int\n" for i in range(9))
        + "\n    def method(self, a, b, c, d, e, f, g):\n        pass\n\n\n"
        f"def long():\n{body}\n\n"
        "async def wide(a, b, c, d, *e, f, h, **g):\n    pass\n\n\n"
        "def seven(a, b, c, d, e, f, g):\n    pass\n"
    )
    (tmp_path / "tandem").mkdir()
    (tmp_path / "tandem" / "b.py").write_text("x = 1\n" * 451)
    assert over_the_limits(tmp_path) == [
        "jobs/a.py:long (81 lines, 0 parameters)",
        "jobs/a.py:wide (2 lines, 8 parameters)",
        "tandem/b.py (451 lines)",
    ]
