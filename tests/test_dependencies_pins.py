"""Test requirements pinned to versions that install but do not run on the sandbox's Python:
the plan unpinned (pure), then a real install without internet where the pinned version of a
library imports a module Python 3.12 removed (`imp`), as old pins do."""

from __future__ import annotations

import sys
from pathlib import Path

from jobs.dependencies import MemoryFiles, plan_install
from jobs.dependencies.fallbacks import pinned_names, unpinned
from jobs.sandbox import LocalSandbox
from tests.test_dependencies import AUTO, baseline, install_from_wheels, make_wheel
from tests.test_testgen import make_repo

PROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "0.1"

[tool.setuptools]
py-modules = ["app"]
"""


def test_pins_of_test_requirements_are_dropped_and_the_names_kept() -> None:
    files = {
        "pyproject.toml": PROJECT,
        "requirements-test.txt": "-r requirements/base.txt\n-c constraints.txt\n"
        "pytest==6.2.5; python_version>='3.7'\nwhatever==0.7 --hash=sha256:abc\n"
        "hypothesis>=6,<7\nplain\n-e ./vendor/lib\n",
        "requirements/base.txt": "six~=1.10\n",
        "constraints.txt": "attrs==19.1\n",
        "vendor/lib/setup.py": "",
    }
    plan = plan_install(MemoryFiles(files), AUTO)
    assert pinned_names(plan, MemoryFiles(files)) == ["hypothesis", "pytest", "six", "whatever"]
    loose = unpinned(plan, MemoryFiles(files), "The pinned whatever did not import")
    assert loose is not None
    assert loose.sources[1].pip_args() == [
        "-e",
        "./vendor/lib",
        "six",
        'pytest; python_version >= "3.7"',
        "whatever",
        "hypothesis>=6",
        "plain",
    ]
    assert loose.describe() == "`pyproject.toml` and `requirements-test.txt` (unpinned)"
    assert loose.notes() == [
        "The pinned whatever did not import, so the same requirements were installed without "
        "their pins"
    ]
    # tox's deps and the files they name, and dependency groups, the same way
    tox = {**files, "tox.ini": "[testenv]\ndeps =\n  -r requirements/base.txt\n  mock==1.0\n"}
    tox_plan = unpinned(plan_install(MemoryFiles(tox), AUTO), MemoryFiles(tox), "why")
    assert tox_plan is not None and tox_plan.sources[0].pip_args() == ["-e", ".", "mock", "six"]
    # nothing capped: nothing to try
    loose_only = {"pyproject.toml": PROJECT, "requirements-test.txt": "pytest>=7\n"}
    assert (
        unpinned(plan_install(MemoryFiles(loose_only), AUTO), MemoryFiles(loose_only), "x") is None
    )


async def test_a_pin_that_installs_but_does_not_import_here_is_installed_unpinned(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    # 1.0 imports `imp`, which Python 3.12 removed: it installs, then fails at import
    make_wheel(wheels, "oldlib", "1.0", "oldlib", "import imp\nVALUE = 1\n")
    make_wheel(wheels, "oldlib", "2.0", "oldlib", "VALUE = 2\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": PROJECT,
            "requirements-test.txt": "oldlib==1.0\n",
            "app.py": "import oldlib\n\nVALUE = oldlib.VALUE\n",
            "tests/test_app.py": "import app\n\n\ndef test_it():\n    assert app.VALUE == 2\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"
        assert outcome.note == (
            "Dependencies: installed from `pyproject.toml` and `requirements-test.txt` "
            f"(unpinned) (2 package(s)). The pinned oldlib did not import on Python {python} "
            "(`oldlib`: ModuleNotFoundError: No module named 'imp'), so the same requirements "
            "were installed without their pins."
        )
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output
    finally:
        await sandbox.close()


async def test_a_pinned_coverage_too_old_to_measure_gives_way_to_the_sandboxs_own(
    tmp_path: Path,
) -> None:
    """pypika's CI pins coverage==5.1, which imports here but has no ``--data-file``: with it
    the project's tests ran and the baseline measured nothing."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "coverage", "5.1", "coverage", "version_info = (5, 1, 0, 'final', 0)\n")
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": PROJECT,
            "requirements-test.txt": "coverage==5.1\n",
            "app.py": "def double(x):\n    return 2 * x\n",
            "tests/test_app.py": "import app\n\n\ndef test_it():\n    assert app.double(2) == 4\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note == (
            "Dependencies: installed from `pyproject.toml` and `requirements-test.txt` (2 "
            "package(s)); its pins of coverage-5.1 did not import on this Python or were too old "
            "to measure with, so the sandbox's own are used."
        )
        run = await baseline(sandbox, repo)
        assert run.ok and run.passed == 1, run.output
        assert run.problem() is None and run.executed.get("app.py") == {1, 2}, run.executed
    finally:
        await sandbox.close()
