"""A project whose pytest configuration sets its own ``norecursedirs`` (which replaces pytest's
default ``.*``) and collects ``--doctest-modules`` (inflect's, zipp's): the baseline must not
collect Tandem's work dir, whose launcher would run pytest again inside the collection (exit 3)
and whose environment's site-packages would count as the project's."""

from __future__ import annotations

from pathlib import Path

from jobs.languages.python import pytest_runner
from jobs.sandbox import LocalSandbox
from tests.test_dependencies import install_from_wheels
from tests.test_testgen import make_repo

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "0.1"
dependencies = []
"""

PYTEST_INI = """
[pytest]
norecursedirs = dist build
addopts = --doctest-modules --import-mode importlib
"""

APP = '''
def double(x):
    """
    >>> double(2)
    4
    """
    return 2 * x
'''


async def test_the_baseline_never_collects_the_work_dir(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": PYPROJECT,
            "pytest.ini": PYTEST_INI,
            "app/__init__.py": APP,
            "tests/test_app.py": "from app import double\n\n\n"
            "def test_double():\n    assert double(2) == 4\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        # as the worker's baseline: all the repository's tests, no paths
        run = await pytest_runner.run_pytest(
            sandbox, repo, [], tag="baseline", timeout_s=120, measure=True
        )
        assert run.ok and run.passed == 2, run.output[-2000:]  # the test and the doctest
    finally:
        await sandbox.close()
