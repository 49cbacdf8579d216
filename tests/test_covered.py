"""Issue #19, item 3: a change whose lines all run is not tested until its mutants die. Where
the existing tests run every changed line but notice none of its bugs, the offline engines
still write tests, kept only for the mutants they kill (or the change they pin); where the
existing tests already kill every mutant, "nothing to cover" stays, and no engine runs.
Tiny real projects, the local sandbox, real pytest and the real characterization engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.repo_config import RepoConfig
from jobs.sandbox import LocalSandbox
from jobs.testgen import produce_tests
from jobs.testgen.engines import ENGINES, Portfolio, register
from jobs.testgen.production import Production
from jobs.testgen.proof.mutants import Mutant
from jobs.testgen.proof.score import MutantScore, Outcome
from jobs.testgen.tests_report import all_run_line, unkept_result
from tests.test_engine_registry import NO_LLM, isolated_registry  # noqa: F401 (a fixture)
from tests.test_testgen import make_repo

SCALE = '''def scale(n, factor=3):
    """n, factor times.

    >>> scale(2)
    6
    """
    return n * factor
'''
CHANGED = {"pkg/calc.py": {7}}
# Runs the changed line, checks nothing: every mutant of it survives.
CALLS_ONLY = "from pkg.calc import scale\n\n\ndef test_scale_runs():\n    scale(2)\n"
# Runs it and checks the result: `n * factor` can become nothing this does not notice.
CHECKS = "from pkg.calc import scale\n\n\ndef test_scale():\n    assert scale(2, 5) == 10\n"


def _project(root: Path, existing_test: str) -> Path:
    return make_repo(
        root,
        {"pkg/__init__.py": "", "pkg/calc.py": SCALE, "tests/test_calc.py": existing_test},
    )


def _config() -> RepoConfig:
    # The characterization engine alone: cheap, and it writes `assert scale(2) == 6` from the
    # docstring's example.
    register(ENGINES["characterize"], Portfolio("offline", ("characterize",), label="offline"))
    return RepoConfig.model_validate({"test_generation": {"engine": "offline", "flaky_runs": 2}})


@pytest.mark.usefixtures("isolated_registry")
async def test_a_test_is_kept_where_the_existing_one_runs_the_line_and_checks_nothing(
    tmp_path: Path,
) -> None:
    repo = _project(tmp_path / "repo", CALLS_ONLY)
    config = _config()
    heard: list[str] = []
    production = await produce_tests(LocalSandbox(), repo, CHANGED, config, NO_LLM, heard.append)

    assert production.nothing_to_do is None, production.nothing_to_do
    assert production.before is not None
    assert production.before.covered_count == production.before.total == 1
    existing = production.existing_score
    assert existing is not None and existing.total and existing.alive == existing.total
    [kept] = [t for t in production.tests if t["kept"]]
    assert "kills" in kept["reason"] and "covers" not in kept["reason"]
    assert list(production.kept) and "scale(2)" in next(iter(production.kept.values()))
    # The kill matrix gave the score with the kept test: the mutants ran once before the
    # engines and once with the candidates, never a third time for the report.
    score = production.mutants
    assert score is not None and score is not existing
    assert score.killed_existing == 0 and score.count("killed", "kept") > 0
    assert heard.count("running the mutants of the changed lines") == 0
    killed = score.count("killed", "kept")
    alive = existing.alive
    assert any(f"{alive} of the {existing.total} mutants" in note for note in production.notes)

    assert all_run_line(production) == (
        f"every changed line already runs; {alive} mutants survived the existing tests: "
        f"kept 1 test that kills {killed} of them"
    )


@pytest.mark.usefixtures("isolated_registry")
async def test_nothing_to_cover_where_the_existing_test_kills_every_mutant(
    tmp_path: Path,
) -> None:
    repo = _project(tmp_path / "repo", CHECKS)
    config = _config()
    heard: list[str] = []
    production = await produce_tests(LocalSandbox(), repo, CHANGED, config, NO_LLM, heard.append)

    score = production.mutants
    assert score is not None and score.total and score.killed_existing == score.total
    # The headline stays, and the summary says why: the existing tests notice every mutant.
    assert production.nothing_to_do == (
        "Every changed statement is covered by the existing tests already. They kill "
        f"{score.total} of the {score.total} mutants of the changed lines, and no mutant "
        "survived them."
    )
    # The report reuses the run before the engines: the mutants ran once.
    assert production.mutants is production.existing_score
    assert heard.count("running the mutants of the changed lines") == 0
    assert not any("characterize" in line or "generat" in line for line in heard), heard
    assert "engine" not in production.timings and not production.tests and not production.kept
    existing = score
    result = unkept_result(production, config.test_generation)
    assert result is not None
    assert result.headline == "nothing to cover" and result.status == "skipped"
    assert production.nothing_to_do in result.summary
    assert f"existing tests kill {existing.total} of {existing.total}" in result.summary


def _outcome(n: int, status: str, by: str | None = None) -> Outcome:
    mutant = Mutant(
        f"pkg/calc.py:7:{n}", "pkg/calc.py", 7, (7, 7), "scale", "arithmetic",
        f"mutant {n}", 1, 7, "", (("scale", 1),),
    )  # fmt: skip
    return Outcome(mutant, status, by=by)


def test_the_headline_says_what_the_kept_tests_did_about_the_survivors() -> None:
    existing = MutantScore(
        [_outcome(1, "killed", "existing")] + [_outcome(n, "survived") for n in (2, 3, 4)]
    )
    production = Production(engine="offline", engine_reason="offline", existing_score=existing)
    production.mutants = existing
    assert all_run_line(production) == (
        "every changed line already runs; 3 mutants survived the existing tests: "
        "no generated test kills one or pins the change"
    )
    production.mutants = replace(
        existing,
        outcomes=[
            *existing.outcomes[:2],
            *(replace(o, status="killed", by="kept") for o in existing.outcomes[2:]),
        ],
    )
    production.kept = {"tests/test_calc_tandem.py": "..."}
    production.tests = [
        {"test": "a", "kept": True, "fails_on_base": False},
        {"test": "b", "kept": True, "fails_on_base": True},
        {"test": "c", "kept": False, "fails_on_base": True},
    ]
    assert all_run_line(production) == (
        "every changed line already runs; 3 mutants survived the existing tests: "
        "kept 2 tests that kill 2 of them, 1 fails on the base commit"
    )
    # No survivor, or not the every-line-runs case: the usual headlines.
    production.existing_score = MutantScore([_outcome(1, "killed", "existing")])
    assert all_run_line(production) is None
    production.existing_score = None
    assert all_run_line(production) is None
