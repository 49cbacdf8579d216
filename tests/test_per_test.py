"""Selection per test (real ``LocalSandbox``, real pytest and coverage.py).

``tests/fixtures/pynguin/test_*.py.txt`` are real Pynguin 0.x outputs for the modules beside
them: ``PYNGUIN_DANGER_AWARE=1 python -m pynguin --project-path . --module-name pkg.calc
--output-path out --maximum-search-time 10 --seed 20240601 --assertion-generation SIMPLE``
(and the same for ``pkg.util`` with 8 s), as :mod:`jobs.testgen.engines.pynguin` runs it.
"""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest

from jobs.languages.python import pytest_runner, python_statements
from jobs.languages.python.per_test import select_tests
from jobs.sandbox import LocalSandbox
from jobs.testgen import line_sets
from jobs.testgen.per_test_selection import Options
from tests.test_testgen import make_repo

FIXTURES = Path(__file__).parent / "fixtures" / "pynguin"
CONFTEST = "import pytest\n\n\n@pytest.fixture\ndef two():\n    return 2\n"
EXISTING = "from pkg.calc import clamp\n\n\ndef test_clamp(two):\n    assert clamp(two) == 2\n"
CALC_TESTS = "tests/test_pkg_calc_tandem.py"
UTIL_TESTS = "tests/test_pkg_util_tandem.py"


def pynguin_repo(root: Path) -> Path:
    repo = make_repo(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": (FIXTURES / "calc.py.txt").read_text(),
            "pkg/util.py": (FIXTURES / "util.py.txt").read_text(),
            "tests/__init__.py": "",
            "tests/conftest.py": CONFTEST,
            "tests/test_existing.py": EXISTING,
        },
    )
    (repo / CALC_TESTS).write_text((FIXTURES / "test_calc.py.txt").read_text())
    (repo / UTIL_TESTS).write_text((FIXTURES / "test_util.py.txt").read_text())
    return repo


async def baseline_and_changed(repo: Path, changed: dict[str, set[int]]):  # type: ignore[no-untyped-def]
    sandbox = LocalSandbox()
    base = await pytest_runner.run_pytest(
        sandbox, repo, ["tests/test_existing.py"], tag="base", timeout_s=60, measure=True
    )
    return sandbox, base, python_statements.changed_executable(repo, changed, base.statements)


@pytest.mark.slow
async def test_pynguin_files_are_selected_per_test_deterministically(tmp_path: Path) -> None:
    results = []
    for attempt in ("one", "two"):
        repo = pynguin_repo(tmp_path / attempt)
        changed = {"pkg/calc.py": set(range(1, 40)), "pkg/util.py": set(range(1, 30))}
        sandbox, base, changed_exec = await baseline_and_changed(repo, changed)
        selection = await select_tests(
            sandbox,
            repo,
            [UTIL_TESTS, CALC_TESTS],
            base,
            changed_exec,
            Options(runs=5, timeout_s=60),
        )
        results.append(selection)
        assert selection.pytest_runs == 5  # one measured run of all, then 4 of the kept ones
        assert selection.kept_files == {p: (repo / p).read_text() for p in (CALC_TESTS, UTIL_TESTS)}
    first, second = results
    assert first.kept_files == second.kept_files
    assert [(t.label, t.name, t.kept, t.reason) for t in first.tests] == [
        (t.label, t.name, t.kept, t.reason) for t in second.tests
    ]
    kept = {t.label: t.name for t in first.tests if t.kept}
    assert kept == {
        f"{CALC_TESTS}::test_3": "test_clamp_raises_value_error",
        f"{CALC_TESTS}::test_4": "test_parse_ratio_raises_value_error",
        f"{CALC_TESTS}::test_5": "test_describe_raises_type_error",
        f"{CALC_TESTS}::test_6": "test_counter_bump_raises_value_error",
        f"{UTIL_TESTS}::test_1": "test_first_number_returns_3124",
    }
    dropped = dict(first.dropped)
    assert "wrong-type input" in dropped[f"{CALC_TESTS}::test_0"]
    assert "wrong-type input" in dropped[f"{CALC_TESTS}::test_2"]
    assert "covers no changed line" in dropped[f"{CALC_TESTS}::test_1"]
    assert "as argument" in dropped[f"{UTIL_TESTS}::test_2"]
    calc = first.kept_files[CALC_TESTS]
    assert "xfail" not in calc and "calc_.LIMIT" not in calc
    assert (
        'with pytest.raises(ValueError, match="invalid literal for int\\\\(\\\\) with base 10: '
        "'1K'\"):\n        calc_.parse_ratio(text='1K/aW38U{')"
    ) in calc
    # Pynguin's own `with pytest.raises(E):` gets the message pinned the same way.
    assert "with pytest.raises(ValueError, match='low above high'):" in calc
    assert all(v.kept for v in first.verdicts)
    assert "kept 4 of 7 test(s)" in first.verdicts[0].reason
    uncovered = line_sets.gained(changed_exec, first.covered)
    assert line_sets.count(uncovered) < line_sets.count(
        line_sets.gained(changed_exec, base.executed)
    )


HANDWRITTEN = """import os
from pathlib import Path

import pytest

from pkg.calc import clamp, describe


def test_uses_conftest_fixture(two):
    assert clamp(two, high=1) == 1


def test_flaky():
    marker = Path(os.environ.get("TMPDIR", "/tmp")) / "tandem-flaky-{tag}"
    runs = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(runs + 1))
    with pytest.raises(ValueError):
        clamp(1, low=5, high=0)
    assert runs == 0


def test_fails():
    assert describe("x") == "x"


def test_low():
    assert clamp(-1) == 0


def test_low_too():
    assert clamp(-2) == 0
"""


@pytest.mark.slow
async def test_conftest_flaky_failing_prefer_and_limit(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": (FIXTURES / "calc.py.txt").read_text(),
            "tests/conftest.py": CONFTEST,
            "tests/test_existing.py": "def test_nothing():\n    assert True\n",
        },
    )
    path = "tests/test_calc_agent.py"
    (repo / path).write_text(HANDWRITTEN.replace("{tag}", uuid.uuid4().hex))
    sandbox, base, changed_exec = await baseline_and_changed(repo, {"pkg/calc.py": {9, 11, 12, 13}})
    chosen = await select_tests(
        sandbox,
        repo,
        [path],
        base,
        changed_exec,
        Options(runs=3, timeout_s=60, prefer=lambda case: case.name == "test_low_too"),
    )
    kept = {t.label.split("::")[1] for t in chosen.tests if t.kept}
    assert kept == {"test_uses_conftest_fixture", "test_low_too"}
    dropped = dict(chosen.dropped)
    assert dropped[f"{path}::test_fails"].startswith("failed: AssertionError")
    assert dropped[f"{path}::test_flaky"].startswith("flaky: passed 1 run(s), then run 2 of 3")
    assert "covers no changed line" in dropped[f"{path}::test_low"]
    text = (repo / path).read_text()
    assert "def test_low_too" in text and "def test_flaky" not in text
    assert "import os" not in text and "describe" not in text
    assert line_sets.count(chosen.covered) == 3
    ast.parse(text)

    limited = await select_tests(
        sandbox, repo, [path], base, changed_exec, Options(runs=1, timeout_s=60, max_tests=1)
    )
    assert [t.name for t in limited.tests if t.kept] == ["test_uses_conftest_fixture"]
    assert "limit of 1 tests" in dict(limited.dropped)[f"{path}::test_low_too"]


@pytest.mark.slow
async def test_unusable_candidates_are_reported_not_fatal(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/m.py": "X = 1\n"})
    (repo / "tests").mkdir()
    (repo / "tests/test_bad_syntax.py").write_text("def test_x(:\n")
    (repo / "tests/test_bad_import.py").write_text(
        "import nowhere_at_all\n\n\ndef test_x():\n    assert nowhere_at_all\n"
    )
    (repo / "tests/test_ok.py").write_text("import pkg.m\n\n\ndef test_x():\n    assert pkg.m.X\n")
    sandbox, base, changed_exec = await baseline_and_changed(repo, {"pkg/m.py": {1}})
    chosen = await select_tests(
        sandbox,
        repo,
        ["tests/test_bad_syntax.py", "tests/test_bad_import.py", "tests/test_ok.py"],
        base,
        changed_exec,
        Options(runs=2, timeout_s=60),
    )
    verdicts = {v.path: v for v in chosen.verdicts}
    assert verdicts["tests/test_bad_syntax.py"].reason.startswith("not split into tests")
    assert not verdicts["tests/test_bad_import.py"].kept
    # pkg/m.py line 1 only runs at import (no test context): the one passing test brings it.
    assert verdicts["tests/test_ok.py"].kept
    assert chosen.covered == {"pkg/m.py": {1}}
    assert not (repo / "tests/test_bad_import.py").exists()
