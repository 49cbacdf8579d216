"""Test amplification's observations that the test module alone could not write
(jobs/testgen/engines/amplify*): an exception class the change adds, which the test module does
not import, is named by its module's path; and real runs on small two-commit projects."""

from __future__ import annotations

import ast
from pathlib import Path

from jobs.testgen.engines import amplify_probe
from jobs.testgen.engines.amplify_probe import Observed
from tests.differential_support import assert_pins
from tests.test_amplify import function
from tests.test_amplify_rounds import amplified

NEW_ERROR = {
    "type": "pkg.depth.TooDeep",
    "spelled": "pkg.depth.TooDeep",
    "message": "negative: -3",
    "import": "pkg.depth",
}


def test_an_exception_the_module_does_not_import_is_named_by_its_modules_path() -> None:
    test = function("def test_nest():\n    assert nest(-3) == [3]\n")
    head = {1: [Observed("raised", NEW_ERROR)], -1: [Observed("end", {})]}
    written = amplify_probe.written(test, "test_nest_negative", head, {1})
    text = ast.unparse(written)
    assert "with pytest.raises(pkg.depth.TooDeep, match='negative: -3'):" in text
    assert amplify_probe.imported_modules(written, head) == {"pkg.depth"}


def test_only_a_dotted_name_the_test_uses_is_imported() -> None:
    test = function("def test_nest():\n    nest(1)\n")
    odd = {**NEW_ERROR, "import": "os; import sys"}
    head = {1: [Observed("raised", odd), Observed("raised", {**NEW_ERROR, "import": "pkg.x"})]}
    written = function(
        "def test_nest():\n    with pytest.raises(pkg.depth.TooDeep):\n        f()\n"
    )
    assert amplify_probe.imported_modules(written, head) == set()
    assert amplify_probe.imported_modules(test, {}) == set()


DEPTH = """def nest(n):
    return [n]
"""
DEPTH_HEAD = """class TooDeep(ValueError):
    pass


def nest(n):
    if n < 0:
        raise TooDeep(f'negative: {n}')
    return [n]
"""
DEPTH_TESTS = """from pkg.depth import nest


def test_nest():
    assert nest(3) == [3]
"""


async def test_a_new_exception_class_the_test_does_not_import_still_pins(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/depth.py": DEPTH, "tests/test_depth.py": DEPTH_TESTS}
    outcome = await amplified(tmp_path, files, {"pkg/depth.py": DEPTH_HEAD})
    assert outcome.written == ["tests/test_depth_amplified.py"], outcome.notes
    text = await assert_pins(outcome.repo, outcome.base_sha, outcome.written)
    assert "import pkg.depth\n" in text
    assert "with pytest.raises(pkg.depth.TooDeep, match='negative: -3'):" in text
