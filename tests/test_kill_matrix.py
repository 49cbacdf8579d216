"""The kill matrix (issue #19, items 3 and 5) on a tiny real project in the real local sandbox:
the mutant runner says which candidate tests kill each mutant, and per-test selection keeps a
candidate for the mutants only it kills, not for a line it runs without checking."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.languages.python import pytest_runner, python_statements
from jobs.languages.python.per_test import select_tests
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import LocalSandbox
from jobs.testgen.per_test_selection import Options
from jobs.testgen.proof.measure import Measured, TestFiles, measure_mutants
from tests.test_testgen import make_repo

CALC = """\
def classify(n):
    if n > 10:
        return "big"
    return "small"


def double(n):
    return n * 2
"""
EXISTING = """\
from pkg.calc import classify


def test_classify():
    assert classify(50) == "big"
    assert classify(1) == "small"
"""
CANDIDATES_PATH = "tests/test_pkg_calc_tandem.py"
CANDIDATES = """\
import pytest

from pkg.calc import classify, double


def test_ten_is_small():
    assert classify(10) == "small"


def test_eleven_runs():
    classify(11)


def test_double_runs():
    double(3)
"""
FIXTURE_ERROR = """

@pytest.fixture
def eleven():
    assert classify(11) == "big"
    return 11


def test_eleven_is_big(eleven):
    assert eleven == 11
"""
CHANGED = {"pkg/calc.py": {2, 8}}  # classify's condition and double's return


def tiny_project(root: Path) -> Path:
    return make_repo(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/__init__.py": "",
            "tests/test_existing.py": EXISTING,
        },
    )


async def baseline_run(sandbox: LocalSandbox, repo: Path) -> SuiteRun:
    run = await pytest_runner.run_pytest(
        sandbox,
        repo,
        ["tests/test_existing.py"],
        tag="baseline",
        timeout_s=120,
        measure=True,
        per_test=["pkg/calc.py"],
    )
    assert run.ok, run.output
    return run


@pytest.mark.slow
async def test_the_runner_says_which_candidates_kill_each_mutant(tmp_path: Path) -> None:
    repo = tiny_project(tmp_path / "repo")
    sandbox = LocalSandbox()
    try:
        baseline = await baseline_run(sandbox, repo)
        (repo / CANDIDATES_PATH).write_text(CANDIDATES + FIXTURE_ERROR)
        measured = await measure_mutants(
            sandbox,
            repo,
            CHANGED,
            TestFiles(candidates=[CANDIDATES_PATH]),
            timeout_s=120,
            per_test=baseline.per_test,
        )
    finally:
        await sandbox.close()
    assert measured.problem is None
    fate = {o.mutant.description: (o.status, o.by, o.killers) for o in measured.score.outcomes}
    ten = (f"{CANDIDATES_PATH}::test_ten_is_small",)
    # The existing test kills what it can first; the candidates run only on what it leaves,
    # every one of them, and only a failure in the call phase counts: under `10` → `11`,
    # test_eleven_is_big errors in its fixture, which kills nothing.
    assert fate["`n > 10` becomes `not n > 10`"] == ("killed", "existing", ())
    assert fate["`n > 10` becomes `n >= 10`"] == ("killed", "candidate", ten)
    assert fate["`10` becomes `9`"] == ("killed", "candidate", ten)
    assert fate["`10` becomes `11`"] == ("survived", None, ())
    # double's line runs only in test_double_runs, which checks nothing.
    line_8 = {d: f for d, f in fate.items() if "`n * 2`" in d or "`2`" in d}
    assert line_8 and all(f == ("survived", None, ()) for f in line_8.values())


@pytest.mark.slow
async def test_a_candidate_is_kept_for_its_kills_not_for_an_unchecked_line(
    tmp_path: Path,
) -> None:
    repo = tiny_project(tmp_path / "repo")
    sandbox = LocalSandbox()
    try:
        baseline = await baseline_run(sandbox, repo)
        (repo / CANDIDATES_PATH).write_text(CANDIDATES)
        changed_exec = python_statements.changed_executable(repo, CHANGED, baseline.statements)

        async def on_mutants(files: list[str]) -> Measured | str:
            return await measure_mutants(
                sandbox,
                repo,
                CHANGED,
                TestFiles(candidates=files),
                timeout_s=120,
                per_test=baseline.per_test,
            )

        chosen = await select_tests(
            sandbox,
            repo,
            [CANDIDATES_PATH],
            baseline,
            changed_exec,
            Options(runs=2, timeout_s=60, on_mutants=on_mutants),
        )
    finally:
        await sandbox.close()
    kept = {t.label.split("::")[1]: t.reason for t in chosen.tests if t.kept}
    dropped = {label.split("::")[1]: why for label, why in chosen.dropped}
    # It runs no changed line the existing test does not, but kills `>=` and `9`.
    assert list(kept) == ["test_ten_is_small"]
    assert "kills 2 mutant(s) of the changed lines no other test kills" in kept["test_ten_is_small"]
    # It is the only test that runs line 8, and notices none of its bugs (issue #19, item 5).
    assert "kills none of their mutants" in dropped["test_double_runs"]
    assert "covers no changed line" in dropped["test_eleven_runs"]
    assert chosen.notes == []
    assert chosen.mutants is not None
