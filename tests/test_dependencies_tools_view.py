"""A project that declares a dependency the tools' environment already holds gets it through
the view of the tools (jobs/sandbox/scripts/tools_view.py). When that distribution is a native
program in a wheel (ruff), the program must be where the project's python looks for its
scripts: pytest-ruff's ``RuffNotFound`` stopped inflect's and zipp's baselines (exit 3)."""

from __future__ import annotations

from pathlib import Path

from jobs.dependencies.environment import ENV_DIR
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
dependencies = ["ruff"]
"""

# What pytest-ruff does to find ruff (ruff's own lookup), then runs it.
TEST = """
import subprocess

from ruff.__main__ import find_ruff_bin


def test_ruff_runs():
    done = subprocess.run([find_ruff_bin(), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("ruff ")
"""


async def test_a_native_program_from_the_tools_is_in_the_projects_scripts_folder(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    repo = make_repo(
        tmp_path / "repo",
        {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "tests/test_app.py": TEST},
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output[-2000:]
        scripts = repo / ENV_DIR / "bin"
        # the binary, not the tools' Python console scripts (they would start the tools' python)
        assert (scripts / "ruff").is_symlink()
        assert not (scripts / "pytest").exists()
    finally:
        await sandbox.close()
