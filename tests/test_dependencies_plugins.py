"""A pytest plugin the project's environment holds that pytest cannot load (pytest-flake8 1.3
declares ``pytest_collect_file(path)``, which pytest 9 removed; schedule's baseline stopped there
with exit 3): the install finds it, says so in its note with ⚠️, and the runs leave it out
(``-p no:NAME``), since a linter plugin is no part of the project's tests."""

from __future__ import annotations

from pathlib import Path

from jobs.dependencies.environment import left_out_sentence
from jobs.sandbox import LocalSandbox
from tests.test_dependencies import baseline, install_from_wheels, make_wheel
from tests.test_testgen import make_repo

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "0.1"
dependencies = ["pytest-oldlint"]
"""

# A hook implementation with an argument pytest's specification does not have (pytest-flake8's
# `path`, which the sandbox's pytest 8 still has: a name no pytest has stands for it here).
OLD_PLUGIN = "def pytest_collect_file(file_path, legacy_path, parent):\n    return None\n"


async def test_a_plugin_pytest_cannot_load_is_left_out_and_said(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(
        wheels,
        "pytest-oldlint",
        "1.0",
        "pytest_oldlint",
        OLD_PLUGIN,
        entry_points="[pytest11]\noldlint = pytest_oldlint\n",
    )
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": "",
            "tests/test_app.py": "def test_app():\n    assert True\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note is not None
        assert "⚠️ pytest plugin left out of the runs" in outcome.note
        assert "`oldlint` (pytest-oldlint 1.0, `-p no:oldlint`): " in outcome.note
        assert "PluginValidationError" in outcome.note
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output[-2000:]
    finally:
        await sandbox.close()


def test_each_plugin_left_out_is_quoted_with_its_own_option_and_error() -> None:
    sentence = left_out_sentence(
        [
            ("flake8", "pytest-flake8 1.3", "PluginValidationError: unknown hook 'path'"),
            ("oldcov", "pytest-oldcov 0.1", "ImportError: no module named 'x'"),
        ]
    )
    assert sentence is not None
    assert sentence.startswith("⚠️ pytest plugins left out of the runs")
    assert "`flake8` (pytest-flake8 1.3, `-p no:flake8`): PluginValidationError" in sentence
    assert "`oldcov` (pytest-oldcov 0.1, `-p no:oldcov`): ImportError: no module" in sentence
    assert left_out_sentence([]) is None
