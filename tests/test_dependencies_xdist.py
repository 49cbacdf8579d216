"""A project whose pytest options start pytest-xdist (``addopts = -n 2``, bidict's
``--numprocesses=auto``): the measured baseline runs its tests in one process, where our
``coverage run`` sees them; in xdist's workers only the import-time lines were covered."""

from __future__ import annotations

from pathlib import Path

from jobs.sandbox import LocalSandbox
from tests.test_dependencies import baseline, install_from_wheels
from tests.test_testgen import make_repo

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "0.1"
dependencies = ["pytest-xdist"]

[tool.pytest.ini_options]
addopts = "-n 2"
"""

APP = "def double(x):\n    return 2 * x\n"


async def test_the_baseline_measures_tests_that_xdist_would_run_in_workers(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": APP,
            "tests/test_app.py": "from app import double\n\n\n"
            "def test_double():\n    assert double(2) == 4\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output[-2000:]
        app = next(v for k, v in run.executed.items() if k.endswith("app/__init__.py"))
        assert 2 in app, run.output[-2000:]  # the body of double(): run by the test
    finally:
        await sandbox.close()
