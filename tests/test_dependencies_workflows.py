"""A project with no tox env or nox session that runs its tests: its CI workflow's step says how
its CI runs them, read with ``yaml.safe_load`` and never run."""

from __future__ import annotations

from pathlib import Path

from jobs.dependencies.owncommand import own_command
from jobs.dependencies.pip_log import CheckoutFiles
from jobs.dependencies.plan_model import MemoryFiles
from jobs.dependencies.workflows import script_commands

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
