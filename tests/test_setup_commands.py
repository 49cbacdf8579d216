"""`test_generation.setup`: the repository's own commands that prepare its test environment, run
in the sandbox after the dependency install and before the baseline. Real commands, the local
sandbox, no internet: what a command installs is a wheel the test builds and commits into the
repository."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from core.repo_config_file import InvalidConfig, parse_config
from core.settings import Settings
from jobs.dependencies import ENV_DIR, run_setup
from jobs.sandbox import LocalSandbox
from jobs.testgen import produce_tests
from tests.test_dependencies import HELPER_PYPROJECT
from tests.test_testgen import make_repo

pytestmark = pytest.mark.slow


def test_setup_commands_are_one_line_each_and_at_most_ten() -> None:
    config = parse_config("test_generation:\n  setup:\n    - pip install -r ci/test.txt\n")
    assert config.test_generation.setup == ["pip install -r ci/test.txt"]
    assert RepoConfig().test_generation.setup == []
    for bad in (
        "setup: pip install x",  # not a list
        "setup: ['']",
        'setup: ["a\\nb"]',  # two commands in one item
        "setup: [" + ", ".join(["x"] * 11) + "]",
    ):
        with pytest.raises(InvalidConfig):
            parse_config("test_generation:\n  " + bad + "\n")


PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
GIT_COMMIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "wheel"]


def helper_wheel(tmp: Path) -> Path:
    """A wheel of the vendored helper package, built here, so that a setup command can install
    it without an index."""
    source = tmp / "helperlib-src"
    (source / "helperlib").mkdir(parents=True)
    (source / "pyproject.toml").write_text(HELPER_PYPROJECT)
    (source / "helperlib" / "__init__.py").write_text("def triple(x):\n    return 3 * x\n")
    subprocess.run(
        [*PIP_WHEEL, str(source), "-w", str(tmp / "wheels")],
        check=True,
    )
    (wheel,) = (tmp / "wheels").glob("helperlib-*.whl")
    return wheel


def repo_with_wheel(tmp: Path) -> tuple[Path, str]:
    wheel = helper_wheel(tmp)
    repo = make_repo(
        tmp / "repo",
        {
            f"ci/{wheel.name}": "",  # replaced below by the wheel's bytes
            "app.py": "from helperlib import triple\n\n\ndef nine():\n    return triple(3)\n",
            "tests/test_app.py": "from app import nine\n\n\ndef test_nine():\n"
            "    assert nine() == 9\n",
        },
    )
    (repo / "ci" / wheel.name).write_bytes(wheel.read_bytes())
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "w",
        ],
        check=True,
    )
    return repo, f"pip install --no-index ci/{wheel.name}"


async def test_setup_prepares_the_environment_the_baseline_runs_in(tmp_path: Path) -> None:
    """The repository declares no dependencies; its setup command installs the one its code
    needs. Without setup the baseline fails with ImportError; with it, it passes, and the
    package went into the project's environment, not the worker's."""
    repo, install = repo_with_wheel(tmp_path)
    settings = Settings.model_validate(
        {"llm_model": None, "sandbox": "local", "sandbox_install_network": "none"}
    )
    setup = [install, "python -c 'import sys; print(sys.prefix)'"]
    config = RepoConfig.model_validate({"test_generation": {"engine": "pynguin", "setup": setup}})
    said: list[str] = []
    sandbox = LocalSandbox()
    try:
        production = await produce_tests(
            sandbox, repo, {"app.py": {4, 5}}, config, settings, progress=said.append
        )
    finally:
        await sandbox.close()
    assert said == [
        "installing the repository's dependencies",
        "running the repository's setup commands",
        "measuring what the existing tests cover",
        # every changed line runs: their mutants run before any engine, and all die
        "every changed line runs already: running their mutants against the existing tests",
    ]
    assert production.baseline == "Existing tests: 1 passed.", production.problems
    assert production.problems == []
    assert any(
        note.startswith("Setup: ran 2 command(s) from test_generation.setup")
        for note in production.notes
    ), production.notes
    assert production.nothing_to_do  # the existing test covers the change
    probe = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "import helperlib"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.returncode != 0, "the setup command installed into the worker's environment"

    # The control: the same run without the setup command fails its baseline.
    bare = RepoConfig.model_validate({"test_generation": {"engine": "pynguin"}})
    sandbox = LocalSandbox()
    try:
        without = await produce_tests(sandbox, repo, {"app.py": {4, 5}}, bare, settings)
    finally:
        await sandbox.close()
    assert "collection errors" in without.baseline, without.baseline


async def test_the_first_failing_command_stops_the_rest_and_is_the_problem(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "X = 1\n"})
    commands = ["echo preparing", "echo boom >&2; exit 3", "touch never-ran"]
    sandbox = LocalSandbox()
    try:
        outcome = await run_setup(sandbox, repo, commands, timeout_s=120, network="none")
        # The environment was made for it, though nothing was installed.
        assert sandbox.python == str(repo.resolve() / ENV_DIR / "bin" / "python")
    finally:
        await sandbox.close()
    assert outcome.ran == 1
    assert outcome.problem == (
        "setup: command 2 of 3 (`echo boom >&2; exit 3`) failed (exit 3): boom"
    )
    assert "boom" in outcome.output
    assert not (repo / "never-ran").exists()


async def test_a_command_that_outlasts_its_time_is_stopped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "X = 1\n"})
    sandbox = LocalSandbox()
    try:
        # The environment and its pip first, with time to spare on a loaded machine.
        ready = await run_setup(sandbox, repo, ["true"], timeout_s=300, network="none")
        assert ready.problem is None, ready.problem
        outcome = await run_setup(
            sandbox, repo, ["sleep 600", "touch never-ran"], timeout_s=3, network="none"
        )
    finally:
        await sandbox.close()
    assert outcome.problem is not None
    assert outcome.problem.startswith("setup: command 1 of 2 (`sleep 600`) timed out after")
    assert not (repo / "never-ran").exists()
