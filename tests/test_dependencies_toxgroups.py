"""tox's ``dependency_groups`` (tox >= 4.22): the PEP 735 groups of ``pyproject.toml`` the
test environment installs, read from ``[testenv]`` (factor conditions and tox 4's ``3.12``
names and ``{0-5}`` ranges evaluated) or ``env_run_base``, never from another section (pure)."""

from __future__ import annotations

from jobs.dependencies import MemoryFiles, plan_install
from jobs.dependencies.toxfactors import env_factors, expand
from tests.test_dependencies import AUTO

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "0.1"

[project.optional-dependencies]
test = ["from-test-extra"]
doc = ["sphinx"]

[dependency-groups]
tests = ["pytest>=6", "time-machine"]
typing = ["mypy", "rich"]
dev = [{include-group = "tests"}, {include-group = "typing"}]
"""

# As structlog's and attrs': the groups depend on the env's factors, and the env list names
# Pythons tox 4's way, with a range.
TOX_INI = """
[tox]
env_list =
    3.1{0-5}-{tests,mypy}
    docs

[testenv]
package = wheel
dependency_groups =
    tests: tests
    mypy: typing
extras =
    test
commands = pytest {posargs}

[testenv:docs]
extras = doc
dependency_groups = dev
"""


def test_tox_4_names_pythons_with_a_dot_and_ranges_in_braces() -> None:
    assert expand("3.1{0-2}-tests") == ["3.10-tests", "3.11-tests", "3.12-tests"]
    assert expand("py3{8,9}") == ["py38", "py39"]
    assert env_factors("3.1{0-5}-{tests,mypy}", (3, 12)) == {"3.12", "tests"}
    assert env_factors("py3.12-x", (3, 12)) == {"py3.12", "x"}


def test_tox_dependency_groups_of_the_test_env_only_are_installed() -> None:
    plan = plan_install(MemoryFiles({"pyproject.toml": PYPROJECT, "tox.ini": TOX_INI}), AUTO)
    [source] = [s for s in plan.sources if s.kind == "tox"]
    assert source.groups == ("tests",)
    assert source.extras == ("test",)  # [testenv:docs]'s `doc` is not read
    args = plan.pip_args()
    assert args[args.index("-e") : args.index("-e") + 4] == [
        "-e",
        ".[test]",
        "pytest>=6",
        "time-machine",
    ]
    assert "mypy" not in args and "rich" not in args and "sphinx" not in args
    assert "groups tests" in plan.describe()


def test_tox_toml_groups_and_a_group_pyproject_lacks() -> None:
    toml = '[env_run_base]\ndependency_groups = ["dev", "nope"]\n'
    plan = plan_install(MemoryFiles({"pyproject.toml": PYPROJECT, "tox.toml": toml}), AUTO)
    [source] = [s for s in plan.sources if s.kind == "tox"]
    assert source.groups == ("dev",)
    assert source.requirements == ("pytest>=6", "time-machine", "mypy", "rich")
    assert plan.refused == (
        "`tox.toml` env_run_base dependency_groups 'nope': no such group in `pyproject.toml`",
    )
