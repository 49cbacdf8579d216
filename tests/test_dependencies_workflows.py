"""A project with no tox env or nox session that runs its tests: its CI workflow's step says how
its CI runs them, read with ``yaml.safe_load`` and never run."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.repo_config import Dependencies
from jobs.dependencies.install_plan import plan_install
from jobs.dependencies.owncommand import own_command
from jobs.dependencies.pip_log import CheckoutFiles
from jobs.dependencies.plan_model import MemoryFiles
from jobs.dependencies.workflows import script_commands
from jobs.sandbox import LocalSandbox
from tests.test_dependencies import GROUPED_PYPROJECT, baseline, install_from_wheels, make_wheel
from tests.test_testgen import make_repo

CI = """
name: CI
on: [push]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ruff check .
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.12"]
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - name: Install
        run: |
          python -m pip install -e .[test]
      - name: Test
        run: |
          # the suite, and its doctests
          uv run --group test pytest --doctest-modules -p no:randomly \\
            --cov=pkg -k "${{ matrix.k }}" src tests | tee pytest.log
"""


def test_the_ci_workflows_pytest_step_is_the_command_without_tox_or_nox() -> None:
    command = own_command(MemoryFiles({".github/workflows/ci.yml": CI, "README.md": ""}))
    assert command is not None and command.runner == "pytest"
    assert command.source == "`.github/workflows/ci.yml` job `test`"
    assert command.args == ("--doctest-modules", "-p", "no:randomly")
    assert command.paths == ("src", "tests")
    assert command.dropped == (
        "--cov=pkg (coverage is Tandem's)",
        "-k '{matrix.k}' ({matrix.k} is not resolved)",
    )


def test_tox_and_nox_come_first_and_a_workflow_may_run_unittest() -> None:
    tox = "[testenv]\ncommands = pytest tests\n"
    both = {".github/workflows/ci.yml": CI, "tox.ini": tox}
    told = own_command(MemoryFiles(both))
    assert told is not None and told.source == "`tox.ini` [testenv] commands"
    unittest = "jobs:\n  t:\n    steps:\n      - run: python -m unittest discover -s tests\n"
    plain = own_command(MemoryFiles({".github/workflows/t.yaml": unittest}))
    assert plain is not None and (plain.runner, plain.args) == (
        "unittest",
        ("discover", "-s", "tests"),
    )


def test_a_step_in_another_directory_places_its_paths_and_bad_yaml_is_not_read() -> None:
    moved = (
        "jobs:\n  t:\n    defaults:\n      run:\n        working-directory: ./python\n"
        "    steps:\n      - run: pytest tests $EXTRA\n"
    )
    files = {".github/workflows/a.yml": "jobs: [", ".github/workflows/b.yml": moved}
    command = own_command(MemoryFiles(files))
    assert command is not None and command.paths == ("python/tests",)
    assert command.dropped == ("{$EXTRA} ({$EXTRA} is not resolved)",)


def test_commands_are_split_at_shell_separators() -> None:
    commands, notes = script_commands("pip install . && pytest -q; echo 'done'\nmake 'x\n")
    assert commands == [["pip", "install", "."], ["pytest", "-q"], ["echo", "done"]]
    assert len(notes) == 1 and notes[0].startswith('"make \'x" cannot be split')


def test_the_checkouts_listing_stays_in_the_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(CI)
    (repo / ".github" / "workflows" / "sub").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (repo / "out").symlink_to(tmp_path / "elsewhere")
    files = CheckoutFiles(repo)
    assert files.listing(".github/workflows") == ["ci.yml"]
    assert files.listing("out") == [] and files.listing("nothing") == []


INSTALLS = """
jobs:
  lint:
    steps:
      - run: pip install ruff
  test:
    steps:
      - uses: actions/checkout@v4
      - name: Install
        run: |
          python -m pip install --upgrade pip setuptools wheel
          python -m pip install -e ".[test]" -r requirements/ci.txt hypothesis
          pip install ".[${{ matrix.extra }}]" --index-url https://example.org/simple ./vendor
      - name: Windows
        if: matrix.os == 'windows-latest'
        run: pip install pywin32
      - run: uv sync --group typing
      - run: python -m pytest tests
"""
PYPROJECT = """
[project]
name = "p"
version = "1"
[project.optional-dependencies]
test = ["pytest"]
[dependency-groups]
dev = ["black"]
typing = ["mypy"]
"""


def test_the_test_jobs_install_steps_are_the_environment_with_what_was_left_out() -> None:
    files = {
        ".github/workflows/ci.yml": INSTALLS,
        "pyproject.toml": PYPROJECT,
        "requirements/ci.txt": "coverage\n",
        "requirements.txt": "docs-only\n",  # the job does not install it, so neither does Tandem
    }
    plan = plan_install(MemoryFiles(files), Dependencies())
    assert plan.describe() == (
        "`.github/workflows/ci.yml` job `test` (deps `requirements/ci.txt`, hypothesis, mypy, "
        "black; extras test; groups typing, dev)"
    )
    # pip, setuptools and wheel are the installer's; the lint job's ruff is not the test job's
    assert plan.sources[0].pip_args() == [
        "-e", ".[test]", "-r", "./requirements/ci.txt", "hypothesis", "mypy", "black",
    ]  # fmt: skip
    step = "`.github/workflows/ci.yml` job `test` step 'Install'"
    assert plan.refused == (
        f"{step}: '.[{{matrix.extra}}]' is not resolved",
        f"{step}: --index-url: packages come only from the configured index",
        f"{step}: './vendor': a local path or archive, not the project at the root",
        "`.github/workflows/ci.yml` job `test` step 'Windows': runs only if "
        "matrix.os == 'windows-latest'; its install is left out",
    )
    assert plan.runs == ("pytest options from `.github/workflows/ci.yml` job `test`: tests",)


def test_tox_comes_first_and_a_job_that_names_nothing_leaves_the_usual_plan() -> None:
    tox = "[testenv]\ndeps = pytest-mock\ncommands = pytest\n"
    files = {".github/workflows/ci.yml": INSTALLS, "pyproject.toml": PYPROJECT, "tox.ini": tox}
    assert plan_install(MemoryFiles(files), Dependencies()).describe() == (
        "`tox.ini` [testenv] (deps pytest-mock)"
    )
    unread = "jobs:\n  t:\n    steps:\n      - run: make deps && pip install -U pip\n" \
        "      - run: pytest\n"  # fmt: skip
    files = {".github/workflows/ci.yml": unread, "pyproject.toml": PYPROJECT,
             "requirements-dev.txt": "coverage\n"}  # fmt: skip
    plan = plan_install(MemoryFiles(files), Dependencies())
    assert plan.describe() == (
        "`pyproject.toml` (extras test; groups dev) and `requirements-dev.txt`"
    )


@pytest.mark.parametrize(
    ("script", "extras", "requirements", "refused"),
    [
        ("uv sync --all-extras --no-dev", ("test", "docs"), (), ()),
        ("uv sync --all-groups", (), ("black", "mypy"), ()),
        ("uv sync --only-group lint --group gone", (), ("black", "mypy"), ("'gone': no such",)),
        ("pip install --group typing -e .[docs] && uv pip install 'attrs>=23' pip",
         ("docs",), ("attrs>=23", "mypy"), ()),
        ("pip3 install -rrequirements/ci.txt -c /etc/constraints.txt pytest -X",
         (), ("pytest",), ("only files inside the repository", "-X: an option")),
    ],
)  # fmt: skip
def test_uv_sync_and_pips_forms(
    script: str, extras: tuple[str, ...], requirements: tuple[str, ...], refused: tuple[str, ...]
) -> None:
    pyproject = PYPROJECT.replace('test = ["pytest"]', 'test = ["pytest"]\ndocs = ["sphinx"]')
    if "--only-group" in script:
        lint = 'lint = ["black", {include-group = "typing"}]'
        pyproject = pyproject.replace('dev = ["black"]', lint)
    workflow = f"jobs:\n  t:\n    steps:\n      - run: {script}\n      - run: pytest\n"
    files = {".github/workflows/ci.yml": workflow, "pyproject.toml": pyproject,
             "requirements/ci.txt": "coverage\n"}  # fmt: skip
    plan = plan_install(MemoryFiles(files), Dependencies())
    (source,) = plan.sources[:1]
    assert source.kind == "workflow" and source.editable
    assert (source.extras, source.requirements) == (extras, requirements)
    assert len(plan.refused) == len(refused)
    for line, why in zip(plan.refused, refused, strict=True):
        assert why in line, line


async def test_the_jobs_environment_installs_and_the_baseline_runs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("alpha-lib", "beta-lib"):
        module = name.replace("-", "_")
        make_wheel(wheels, name, "1.0", module, f"NAME = {module!r}\n")
    workflow = (
        "jobs:\n  test:\n    steps:\n      - run: |\n"
        "          pip install -e . -r requirements/ci.txt\n"
        "          pip install beta-lib\n"
        "      - run: python -m pytest tests\n"
    )
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": GROUPED_PYPROJECT,  # its dev group is not what the job installs
            ".github/workflows/ci.yml": workflow,
            "requirements/ci.txt": "alpha-lib\n",
            "requirements.txt": "nope-lib\n",  # the job does not use it, so neither does Tandem
            "grouped.py": "import alpha_lib\nimport beta_lib\n",
            "tests/test_grouped.py": "import grouped\n\n\ndef test_it():\n"
            "    assert grouped.beta_lib.NAME == 'beta_lib'\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        outcome = await install_from_wheels(sandbox, repo, wheels)
        assert outcome.status == "installed", (outcome.note, outcome.output)
        assert outcome.note is not None and outcome.note.startswith(
            "Dependencies: installed from `.github/workflows/ci.yml` job `test` (deps "
            "`requirements/ci.txt`, beta-lib) (3 package(s))."
        ), outcome.note
        assert (await baseline(sandbox, repo)).ok
    finally:
        await sandbox.close()


def test_the_workflow_a_pull_request_runs_comes_before_a_releases() -> None:
    release = (
        "on:\n  release:\n    types: [created]\njobs:\n  test:\n    steps:\n"
        "      - run: uv sync\n      - run: uv run pytest\n"
    )
    pr = (
        "on: [push, pull_request]\njobs:\n  test:\n    steps:\n      - run: uv sync\n"
        "      - run: uv run pytest . --doctest-modules\n"
    )
    manual = "on: workflow_dispatch\njobs:\n  t:\n    steps:\n      - run: pytest -k slow\n"
    files = {
        ".github/workflows/manual.yml": manual,
        ".github/workflows/publish.yml": release,
        ".github/workflows/test.yml": pr,
    }
    command = own_command(MemoryFiles(files))
    assert command is not None and command.source == "`.github/workflows/test.yml` job `test`"
    assert (command.args, command.paths) == (("--doctest-modules",), (".",))
    alone = own_command(MemoryFiles({".github/workflows/manual.yml": manual}))
    assert alone is not None and alone.args == ("-k", "slow")


def test_an_install_in_the_test_step_before_its_test_command_counts() -> None:
    one_step = (
        "jobs:\n  t:\n    steps:\n      - run: |\n          pip install -e .[test] pytest-mock\n"
        "          python -m pytest\n          pip install twine-extra-thing\n"
    )
    files = {".github/workflows/ci.yml": one_step, "pyproject.toml": PYPROJECT}
    plan = plan_install(MemoryFiles(files), Dependencies())
    assert plan.describe() == "`.github/workflows/ci.yml` job `t` (deps pytest-mock; extras test)"
