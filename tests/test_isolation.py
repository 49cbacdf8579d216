"""The project's tests see the project, its own dependencies and what measuring needs, never the
tools' other packages; and a baseline that imported the changed code from somewhere other than
the checkout says so.

Real installs without internet (TANDEM_SANDBOX_INSTALL_NETWORK=none, as in
tests/test_dependencies.py) in the local sandbox, whose tools are this test run's own venv: it
holds unidiff (a dependency of Tandem), which the fixture projects never ask for.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from core.repo_config import RepoConfig
from core.settings import Settings
from jobs.dependencies import ENV_DIR, install_dependencies
from jobs.languages.python import pytest_runner
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import LocalSandbox, workdir
from jobs.testgen import produce_tests
from tests.test_dependencies import HELPER_PYPROJECT
from tests.test_testgen import make_repo

WORKER_UNIDIFF = os.path.realpath(os.path.join(sysconfig.get_path("purelib"), "unidiff"))

# --- which module a changed file is, and where a run imported it from ------------------------


def test_a_changed_file_is_named_as_it_is_imported() -> None:
    assert pytest_runner.module_names("pkg/mod.py") == ["pkg.mod"]
    assert pytest_runner.module_names("src/pkg/mod.py") == ["src.pkg.mod", "pkg.mod"]
    assert pytest_runner.module_names("src/pkg/__init__.py") == ["src.pkg", "pkg"]
    assert pytest_runner.module_names("six.py") == ["six"]
    assert pytest_runner.module_names("__init__.py") == []


def test_a_changed_module_imported_from_outside_the_checkout_is_found() -> None:
    modules = {
        "pkg.mod": "/site-packages/pkg/mod.py",  # another copy
        "pkg": "/repo/src/pkg/__init__.py",  # the checkout's
        "inst.core": "/repo/.tandem-work/env/lib/python3.12/site-packages/inst/core.py",
        "json": "/usr/lib/python3.12/json/__init__.py",
    }
    changed = [
        "src/pkg/mod.py",
        "src/pkg/__init__.py",
        "inst/core.py",
        "tools/json.py",  # a module named json inside a folder: not the stdlib's
        "README.md",
    ]
    assert pytest_runner.imported_elsewhere(changed, modules, "/repo") == [
        ("inst.core", "/repo/.tandem-work/env/lib/python3.12/site-packages/inst/core.py"),
        ("pkg.mod", "/site-packages/pkg/mod.py"),
    ]
    assert pytest_runner.imported_elsewhere(
        changed, modules, "/repo/"
    ) == pytest_runner.imported_elsewhere(changed, modules, "/repo")
    assert pytest_runner.imported_elsewhere(["src/pkg/mod.py"], {}, "/repo") == []


def test_a_garbled_modules_record_is_read_as_none(tmp_path: Path) -> None:
    record = tmp_path / "run.modules.json"
    assert pytest_runner.read_modules(record) == {}  # missing
    record.write_text("[1, 2]")
    assert pytest_runner.read_modules(record) == {}
    record.write_text('{"a": "/x.py", "b": 3}')
    assert pytest_runner.read_modules(record) == {"a": "/x.py"}


# --- real installs ------------------------------------------------------------------------------


def vendored_repo(root: Path, files: dict[str, str]) -> Path:
    """A repository that declares one vendored package (installable offline) and some tests."""
    return make_repo(
        root,
        {
            "requirements.txt": "./vendor/helperlib\n",
            "vendor/helperlib/pyproject.toml": HELPER_PYPROJECT,
            "vendor/helperlib/helperlib/__init__.py": "def triple(x):\n    return 3 * x\n",
            "conftest.py": 'collect_ignore = ["vendor"]\n',
            **files,
        },
    )


async def baseline(sandbox: LocalSandbox, repo: Path) -> SuiteRun:
    return await pytest_runner.run_pytest(
        sandbox, repo, ["tests"], tag="baseline", timeout_s=120, measure=True
    )


async def test_the_tests_see_the_project_and_measuring_tools_not_the_workers_others(
    tmp_path: Path,
) -> None:
    repo = vendored_repo(
        tmp_path / "repo",
        {
            "tests/test_view.py": (
                "import importlib.util\n\n"
                "import helperlib\n\n\n"
                "def test_the_projects_own():\n"
                "    assert helperlib.triple(2) == 6\n\n\n"
                "def test_measuring_tools():\n"
                "    import coverage, pytest  # noqa\n\n\n"
                "def test_not_what_it_never_asked_for():\n"
                "    assert importlib.util.find_spec('unidiff') is None\n"
                "    assert importlib.util.find_spec('pynguin') is None\n"
            ),
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "installed", outcome.note
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 3, run.output
        # The engines still get every tool, behind the project's own packages.
        engine = await sandbox.run(
            ["env", workdir.ALL_TOOLS, sandbox.python, "-c", "import helperlib, unidiff, pynguin"],
            cwd=repo,
            timeout_s=60,
        )
        assert engine.returncode == 0, engine.output
    finally:
        await sandbox.close()


async def test_an_editable_path_of_the_project_comes_before_the_tools(tmp_path: Path) -> None:
    """flit's editable install is a `<name>.pth` holding the project's source folder; site reads
    .pth files in name order, so a tools entry named before it would put the tools' copy of the
    same package (here packaging, which pytest needs) first."""
    repo = vendored_repo(
        tmp_path / "repo",
        {
            "src/packaging/__init__.py": "MARK = 'the checkout'\n",
            "tests/test_mark.py": (
                "import packaging\n\n\n"
                "def test_the_checkouts_packaging():\n"
                "    assert packaging.MARK == 'the checkout', packaging.__file__\n"
            ),
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_dependencies(sandbox, repo, timeout_s=180, network="none")
        assert outcome.status == "installed", outcome.note
        purelib = (
            await sandbox.run(
                [sandbox.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                cwd=repo,
                timeout_s=60,
            )
        ).output.strip()
        assert purelib.startswith(str(repo.resolve() / ENV_DIR)), purelib
        (Path(purelib) / "packaging.pth").write_text(str(repo.resolve() / "src") + "\n")
        run = await baseline(sandbox, repo)
        assert run.ok, run.output
        assert run.modules["packaging"] == str(repo.resolve() / "src/packaging/__init__.py")
    finally:
        await sandbox.close()


async def test_a_baseline_that_measured_another_copy_is_a_problem(tmp_path: Path) -> None:
    """The changed package is unidiff, which the project's tests import from the worker's
    environment (nothing puts src/ on the path): its tests ran against another copy."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "src/unidiff/__init__.py": "def twice(x):\n    return 2 * x\n",
            "tests/test_it.py": "import unidiff\n\n\ndef test_it():\n    assert unidiff\n",
        },
    )
    repo_config = RepoConfig.model_validate({"test_generation": {"engine": "crosshair"}})
    settings = Settings.model_validate(
        {"llm_model": None, "sandbox": "local", "sandbox_install_network": "none"}
    )
    sandbox = LocalSandbox()
    try:
        production = await produce_tests(
            sandbox, repo, {"src/unidiff/__init__.py": {1, 2}}, repo_config, settings
        )
    finally:
        await sandbox.close()
    worker_copy = os.path.join(WORKER_UNIDIFF, "__init__.py")
    assert (
        f"baseline: the existing tests imported unidiff from {worker_copy}, not from the "
        "checkout: they measured another copy of the changed code"
    ) in production.problems, production.problems
