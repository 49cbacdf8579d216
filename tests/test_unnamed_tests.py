"""A root ``tests.py`` of unittest cases (json-patch's, run by ``python tests.py``) is a test
module Tandem's pytest runs collect: pytest's default names (``test_*.py``, ``*_test.py``) miss
it, and the baseline found no tests while they ran every changed line. Real pytest, real git."""

from __future__ import annotations

from pathlib import Path

from jobs.languages.python.testfiles import is_test_file
from jobs.languages.python.unittest_runner import run_baseline
from jobs.languages.python.unnamed_tests import modules_with_tests, python_files_option
from jobs.sandbox import LocalSandbox
from tests.test_testgen import make_repo

CALC = "def half(x):\n    return x / 2\n\n\ndef never():\n    return 0\n"
TESTS = """\
import unittest

import calc


class HalfTests(unittest.TestCase):
    def test_half(self):
        self.assertEqual(calc.half(4), 2)


if __name__ == "__main__":
    unittest.main()
"""
OPTION = ["-o", "python_files=test_*.py *_test.py tests.py"]


def test_a_tests_module_that_holds_tests_is_collected_unless_the_project_says_otherwise(
    tmp_path: Path,
) -> None:
    (tmp_path / "tests.py").write_text(TESTS)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "tests.py").write_text("HELPERS = 1\n")  # no test in it
    assert modules_with_tests(tmp_path) == ["tests.py"]
    assert python_files_option(tmp_path, []) == OPTION
    assert is_test_file("tests.py") and is_test_file("pkg/tests.py")
    # the project's own names decide: its command's, or its config's
    assert python_files_option(tmp_path, ["-o", "python_files=check_*.py"]) == []
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\npython_files = check_*.py\n")
    assert python_files_option(tmp_path, []) == []
    (tmp_path / "setup.cfg").unlink()
    (tmp_path / "tests.py").write_text("HELPERS = 1\n")
    assert python_files_option(tmp_path, []) == []


async def test_the_baseline_runs_a_root_tests_module(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "tests.py": TESTS})
    sandbox = LocalSandbox()
    try:
        run = await run_baseline(sandbox, repo, [], timeout_s=120, per_test=["calc.py"])
    finally:
        await sandbox.close()
    assert run.status == "passed" and run.passed == 1, run.output[-2000:]
    assert run.executed["calc.py"] == {1, 2, 5}
