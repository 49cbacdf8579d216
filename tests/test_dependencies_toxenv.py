"""Which of tox's environments Tandem installs when several name the sandbox's Python (pure).

A CI runs all of them for that Python (tox-gh-actions maps 3.12 to every env with the factor
``py312``); Tandem makes one baseline, from the first env that is not a part of another
(whose conditional lines another's include and exceed): a fuller run skips fewer tests. pyjwt's
envlist puts ``crypto`` first, where the first env is that one; this order tells them apart."""

from __future__ import annotations

from jobs.dependencies import MemoryFiles
from jobs.dependencies.tox import read_tox
from jobs.dependencies.toxfactors import fullest, python_envs

TOX_INI = """
[tox]
envlist =
    lint
    py3{11,12}-{nocrypto,crypto}
    py3{11,12}-mypy

[testenv]
dependency_groups =
    tests
extras =
    crypto: crypto
deps =
    mypy: mypy
commands = coverage run -m pytest
"""


def test_the_fullest_env_for_the_python_is_installed() -> None:
    env = read_tox(MemoryFiles({"tox.ini": TOX_INI}), [], (3, 12))
    assert env is not None
    assert env.extras == ("crypto",) and env.groups == ("tests",)
    assert env.requirements == ()  # py312-mypy is no superset of py312-crypto: not chosen


def test_alternatives_leave_the_first_env() -> None:
    """Two envs that install different versions of one dependency: neither is fuller."""
    candidates = python_envs("py312-django42, py312-django50", (3, 12))
    lines = {"django42": "django<4.3", "django50": "django<5.1"}

    def applied(factors: frozenset[str]) -> frozenset[str]:
        return frozenset(line for factor, line in lines.items() if factor in factors)

    assert fullest(candidates, applied) == {"py312", "django42"}
    assert python_envs("py311-x, lint", (3, 12)) == [{"py312"}]


UNITTEST_TOX = """
[testenv]
extras = testing
commands =
    coverage run --source=app -m unittest discover {toxinidir}/tests
"""


def test_a_unittest_runner_is_no_refusal() -> None:
    """markdown's tox runs ``python -m unittest``: its environment is read as any other, and
    nothing is refused (the baseline runs that command: tests/test_unittest_baseline.py)."""
    refused: list[str] = []
    assert read_tox(MemoryFiles({"tox.ini": UNITTEST_TOX}), refused, (3, 12)) is not None
    assert refused == []
    quiet: list[str] = []
    read_tox(MemoryFiles({"tox.ini": TOX_INI}), quiet, (3, 12))
    assert quiet == []


def test_tox_4s_root_and_path_separator_in_deps_are_resolved() -> None:
    ini = "[testenv]\ndeps =\n    -rrequirements{/}ci.txt\n    -c {tox_root}{/}constraints.txt\n"
    refused: list[str] = []
    env = read_tox(MemoryFiles({"tox.ini": ini}), refused, (3, 12))
    assert env is not None and refused == []
    assert env.files == (("-r", "requirements/ci.txt"), ("-c", "constraints.txt"))
