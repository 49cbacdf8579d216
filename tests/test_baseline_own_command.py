"""The baseline runs pytest with the options and paths of the project's own test command (its
tox env's or nox session's), as its CI does: a doctest that only ``--doctest-modules`` runs is
counted, and a test outside the command's paths is not run. Real pytest, real coverage.py,
in the local sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.dependencies import install_dependencies
from jobs.languages.python.unittest_runner import run_baseline
from jobs.sandbox import LocalSandbox
from tests.test_testgen import make_repo

CALC = '''
def double(x):
    """Twice x.

    >>> double(2)
    4
    """
    return x * 2
'''

NOXFILE = """
import nox


@nox.session
def tests(session):
    session.install("-e", ".")
    session.run("python", "-m", "pytest", "--doctest-modules", "-n", "auto", "pkg", "tests",
                *session.posargs)
"""

COMMANDS = {
    "tox.ini": "[testenv]\ncommands = pytest --doctest-modules --cov=pkg {posargs:pkg tests}\n",
    "noxfile.py": NOXFILE,
}


@pytest.mark.parametrize("config", sorted(COMMANDS))
async def test_the_baseline_runs_the_projects_own_pytest_command(
    tmp_path: Path, config: str
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            config: COMMANDS[config],
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_calc.py": "from pkg.calc import double\n\n\n"
            "def test_double():\n    assert double(3) == 6\n",
            # outside the command's paths: its CI never runs it
            "scripts/test_stale.py": "def test_stale():\n    assert False\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        run = await run_baseline(sandbox, repo, [], timeout_s=120, per_test=["pkg/calc.py"])
    finally:
        await sandbox.close()
    assert run.passed == 2, run.output[-2000:]  # test_double and double's doctest
    assert run.failures == [], run.output[-2000:]
    assert run.status == "passed" and run.measured
    assert run.executed["pkg/calc.py"] >= {8}  # the doctest ran the body


async def test_the_install_note_says_where_the_options_came_from(tmp_path: Path) -> None:
    """A project with nothing to install still hears how its baseline will run."""
    repo = make_repo(
        tmp_path / "repo",
        {"tox.ini": "[testenv]\ncommands = pytest --doctest-modules -n 4 tests\n", "t.py": ""},
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=60, network="none")
    finally:
        await sandbox.close()
    assert outcome.status == "nothing"
    assert outcome.note == (
        "pytest options from `tox.ini` [testenv] commands: --doctest-modules tests "
        "(left out: -n 4 (Tandem's coverage follows one process))."
    )
