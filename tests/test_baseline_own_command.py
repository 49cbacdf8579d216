"""The baseline runs pytest with the options and paths of the project's own test command (its
tox env's or nox session's), as its CI does: a doctest that only ``--doctest-modules`` runs is
counted, and a test outside the command's paths is not run. Real pytest, real coverage.py,
in the local sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.dependencies import install_dependencies
from jobs.languages.python.base_commit import own_config
from jobs.languages.python.pytest_runner import run_pytest
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


async def test_every_later_pytest_run_takes_the_options_that_decide_how_tests_run(
    tmp_path: Path,
) -> None:
    """A candidate that warns fails as the project's CI would fail it (its command's `-W
    error::UserWarning`), where the command's choice of tests (`-k`) is the baseline's alone."""
    warns = "import warnings\n\n\ndef test_warns():\n    warnings.warn('old', UserWarning)\n"
    repo = make_repo(
        tmp_path / "repo",
        {
            "tox.ini": "[testenv]\ncommands = pytest -W error::UserWarning -k double tests\n",
            "tests/test_calc.py": "def test_double():\n    assert 2 * 3 == 6\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        baseline = await run_baseline(sandbox, repo, [], timeout_s=120)
        (repo / "tests" / "test_new.py").write_text(warns)
        candidate = await run_pytest(
            sandbox, repo, ["tests/test_new.py"], tag="c", timeout_s=120, measure=False
        )
    finally:
        await sandbox.close()
    assert (baseline.passed, baseline.failures) == (1, []), baseline.output[-2000:]
    assert candidate.passed == 0, candidate.output[-2000:]  # -k double would deselect it
    assert [f.message for f in candidate.failures] == ["UserWarning: old"]


def test_the_base_run_takes_the_config_file_the_projects_command_names(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "ci.ini").write_text("[pytest]\n")
    (tmp_path / "outside.ini").write_text("[pytest]\n")
    assert own_config(base, ["-W", "error", "-c", "ci.ini"]) == base / "ci.ini"
    assert own_config(base, ["--config-file=ci.ini"]) == base / "ci.ini"
    assert own_config(base, ["-cci.ini"]) == base / "ci.ini"
    # not in the base tree, or outside it: the base tree's own config, as before
    assert own_config(base, ["-c", "gone.ini"]) is None
    assert own_config(base, ["-c", "../outside.ini"]) is None
    assert own_config(base, ["-p", "no:x"]) is None
