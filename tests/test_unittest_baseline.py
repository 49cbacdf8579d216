"""A project whose tox environment runs its suite with ``python -m unittest`` gets its baseline
from that command (markdown's suite is built by ``load_tests``, which pytest does not follow,
and pytest stopped at its collection with exit 2): unittest's own counts and failures, coverage
of what the suite ran, and the per-test record with each test named as pytest names it."""

from __future__ import annotations

import json
from pathlib import Path

from jobs.dependencies.owncommand import own_command
from jobs.dependencies.plan_model import MemoryFiles
from jobs.languages.python.unittest_runner import own_unittest, run_baseline
from jobs.sandbox import LocalSandbox
from tests.test_testgen import make_repo


def test_the_own_unittest_command_is_read_from_tox() -> None:
    markdown = (
        "[testenv]\ncommands =\n"
        "    coverage run --source=m -m unittest discover {toxinidir}/tests\n    coverage xml\n"
    )
    assert own_unittest(MemoryFiles({"tox.ini": markdown})) == ["discover", "tests"]
    plain = "[testenv]\ncommands = python -m unittest {posargs}\n"
    assert own_unittest(MemoryFiles({"tox.ini": plain})) == []
    both = "[testenv]\ncommands =\n    python -m unittest\n    pytest docs\n"
    assert own_unittest(MemoryFiles({"tox.ini": both})) is None
    assert own_unittest(MemoryFiles({"tox.ini": "[testenv]\ncommands = pytest\n"})) is None
    toml = (
        '[tool.tox.env_run_base]\ncommands = [["python", "-m", "unittest", "discover", "-s", "t"]]'
    )
    assert own_unittest(MemoryFiles({"pyproject.toml": toml})) == ["discover", "-s", "t"]
    tomli = (
        "[tool.tox.env_run_base]\n"
        'commands = [["python", "-m", "unittest", { replace = "posargs", extend = true }]]'
    )
    assert own_unittest(MemoryFiles({"pyproject.toml": tomli})) == []
    assert own_unittest(MemoryFiles({})) is None


CASES = '''
import unittest

from pkg import calc


class Case(unittest.TestCase):
    """One test per input file; built by load_tests, so pytest cannot collect it."""

    def __init__(self, value):
        super().__init__("runTest")
        self.value = value

    def runTest(self):
        self.assertEqual(calc.double(self.value), self.value * 2)


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for value in (1, 2, 3):
        suite.addTest(Case(value))
    return suite
'''

PLAIN = """
import unittest

from pkg import calc


class TestCalc(unittest.TestCase):
    def test_half(self):
        self.assertEqual(calc.half(4), 2)

    def test_wrong(self):
        self.assertEqual(calc.half(4), 3)
"""

CALC = (
    "def double(x):\n    return x * 2\n\n\ndef half(x):\n    return x / 2\n\n\n"
    "def never():\n    return 0\n"
)


async def test_a_load_tests_suite_runs_by_its_own_unittest_command(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "tox.ini": "[testenv]\ncommands = coverage run -m unittest discover {toxinidir}/tests",
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/__init__.py": "",
            "tests/test_cases.py": CASES,
            "tests/test_plain.py": PLAIN,
        },
    )
    sandbox = LocalSandbox()
    try:
        run = await run_baseline(sandbox, repo, ["tests"], timeout_s=120, per_test=["pkg/calc.py"])
    finally:
        await sandbox.close()
    # pytest would find only test_plain's two tests (and stop at Case's __init__ under
    # `filterwarnings = error`); unittest runs the three load_tests cases too
    assert run.passed == 4, run.output[-2000:]
    assert [f.nodeid for f in run.failures] == ["tests.test_plain.TestCalc::test_wrong"]
    assert "AssertionError: 2.0 != 3" in run.failures[0].message
    assert run.status == "failed" and run.measured
    assert run.executed["pkg/calc.py"] == {1, 2, 5, 6, 9}
    assert run.statements["pkg/calc.py"] == {1, 2, 5, 6, 9, 10}
    assert run.modules["pkg.calc"] == str((repo / "pkg" / "calc.py").resolve())
    assert run.per_test is not None
    record = json.loads((repo / run.per_test).read_text())
    tests = record["tests"]
    assert tests["tests/test_plain.py::TestCalc::test_half"]["lines"] == {"pkg/calc.py": [6]}
    assert tests["tests/test_plain.py::TestCalc::test_wrong"]["passed"] is False
    assert tests["tests/test_cases.py::Case::runTest"]["lines"] == {"pkg/calc.py": [2]}


WARNS = """
import unittest
import warnings


class TestWarns(unittest.TestCase):
    def test_warns(self):
        warnings.warn("old", DeprecationWarning)

    def test_quiet(self):
        pass
"""


async def test_the_interpreters_warning_filters_are_the_unittest_baselines(
    tmp_path: Path,
) -> None:
    workflow = (
        "jobs:\n  test:\n    steps:\n"
        "      - run: python -W error -Wignore::ImportWarning -m unittest discover -s tests\n"
    )
    command = own_command(MemoryFiles({".github/workflows/ci.yml": workflow}))
    assert command is not None
    assert command.warnings == ("-W", "error", "-W", "ignore::ImportWarning")
    # later pytest runs (candidates, mutants) take them as pytest's own
    assert command.how == command.warnings
    assert command.describe() == (
        "unittest from `.github/workflows/ci.yml` job `test`: python -W error -W "
        "ignore::ImportWarning discover -s tests"
    )
    coverage_run = own_command(MemoryFiles({"tox.ini": "[testenv]\ncommands = python -m "
                                            "coverage run -m unittest\n"}))  # fmt: skip
    assert coverage_run is not None and coverage_run.warnings == ()
    repo = make_repo(tmp_path / "repo", {".github/workflows/ci.yml": workflow,
                                         "tests/test_warns.py": WARNS})  # fmt: skip
    sandbox = LocalSandbox()
    try:
        run = await run_baseline(sandbox, repo, [], timeout_s=120)
    finally:
        await sandbox.close()
    # as the project's CI runs it: the warning is an error, and coverage's own are not
    assert run.passed == 1 and run.measured, run.output[-2000:]
    assert [f.nodeid for f in run.failures] == ["tests.test_warns.TestWarns::test_warns"]
    assert "DeprecationWarning: old" in run.failures[0].message
