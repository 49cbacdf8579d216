"""Mutants of the changed lines: the pure mutator (plain data), the runner on a tiny real project
in the real local sandbox, and what the check run says about them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.repo_config import RepoConfig, TestGeneration
from core.settings import Settings
from jobs.languages.python.pytest_runner import per_test_record, run_pytest
from jobs.languages.python.python_backend import PYTHON
from jobs.sandbox import LocalSandbox
from jobs.testgen.budget import Budget
from jobs.testgen.context import Context
from jobs.testgen.line_sets import ChangedCoverage
from jobs.testgen.produce import score_mutants
from jobs.testgen.production import Production
from jobs.testgen.proof.measure import TestFiles, measure_mutants, none_judged, read_results
from jobs.testgen.proof.mutants import Mutant, mutants_of
from jobs.testgen.proof.score import MutantScore, Outcome
from jobs.testgen.tests_report import kept_result, unkept_result
from jobs.testgen.validation import Verdict
from tests.test_testgen import make_repo

SOURCE = '''\
import functools

LIMIT = 10


def classify(n: int = 3) -> str:
    """Big or small."""
    if n > LIMIT and not n % 2:
        return "big"
    "a note that compiles to nothing"
    return "small"


class Box:
    def __init__(self):
        self.__items = []

    @functools.lru_cache
    def add(self, item):
        self.__items.append(item)
        total = len(self.__items)
        total += 1
        return total


def outer(xs):
    def inner(x):
        return x in xs

    return [inner(x) for x in xs]
'''


def descriptions(text: str, lines: set[int]) -> list[str]:
    return [m.description for m in mutants_of("pkg/calc.py", text, lines).mutants]


def test_the_operators_on_a_changed_line() -> None:
    assert descriptions(SOURCE, {8}) == [
        "`n > LIMIT and (not n % 2)` becomes `not (n > LIMIT and (not n % 2))`",
        "the condition `n > LIMIT and (not n % 2)` is removed",
        "`n > LIMIT and (not n % 2)` becomes `n > LIMIT or not n % 2`",
        "`n > LIMIT` becomes `n >= LIMIT`",
        "`not n % 2` becomes `n % 2`",
        "`n % 2` becomes `n // 2`",
        "`2` becomes `3`",
        "`2` becomes `1`",
    ]
    assert descriptions(SOURCE, {9}) == [
        "`return 'big'` becomes `return None`",
        "`'big'` becomes `''`",
    ]
    assert descriptions(SOURCE, {22}) == [
        "`total += 1` becomes `total -= 1`",
        "`total += 1` is removed",
        "`1` becomes `2`",
        "`1` becomes `0`",
    ]


def test_only_changed_lines_inside_functions_and_no_docstrings_or_annotations() -> None:
    # Line 3 is module level (it runs once, at import), 6 the signature (its default and
    # annotations belong to the module), 7 the docstring.
    assert descriptions(SOURCE, {3, 6, 7}) == []
    assert {m.line for m in mutants_of("pkg/calc.py", SOURCE, {9, 11}).mutants} == {9, 11}


def test_equivalent_mutants_are_left_out_and_counted() -> None:
    # Removing a string statement, or emptying it, compiles to the same bytecode.
    found = mutants_of("pkg/calc.py", SOURCE, {10})
    assert found.mutants == []
    assert found.equivalent == 2


def test_where_each_mutant_sits_and_what_replaces_it() -> None:
    found = mutants_of("pkg/calc.py", SOURCE, {20, 28})
    first: Mutant = found.mutants[0]
    assert (first.function, first.chain, first.start, first.end) == (
        "Box.add",
        (("add", 18),),
        18,
        23,
    )
    assert first.description == "`self.__items.append(item)` is removed"
    assert first.source.splitlines()[2] == "        pass"
    nested = [m for m in found.mutants if m.line == 28]
    assert [m.function for m in nested] == ["outer.<locals>.inner"] * 2
    assert nested[0].chain == (("outer", 26), ("inner", 27))


def test_a_file_that_does_not_parse_gives_a_problem_not_mutants() -> None:
    found = mutants_of("pkg/bad.py", "def f(:\n", {1})
    assert found.mutants == []
    assert found.problem is not None and "does not parse" in found.problem


CALC = """\
def classify(n):
    if n > 10:
        return "big"
    "a note that compiles to nothing"
    return "small"


def countdown(n):
    steps = 0
    while n > 0:
        n -= 1
        steps += 1
    return steps
"""
TESTS = """\
from pkg.calc import classify, countdown


def test_classify():
    assert classify(50) == "big"
    assert classify(1) == "small"


def test_countdown():
    assert countdown(3) == 3
"""
KEPT = """\
from pkg.calc import classify


def test_ten_is_small():
    assert classify(10) == "small"
"""


def runner_start(repo: Path) -> dict[str, object]:
    """The runner's first line: how its session began."""
    records = read_results(repo / ".tandem-work" / "mutants.jsonl")
    return next(r for r in records if r.get("event") == "start")


@pytest.mark.slow
@pytest.mark.parametrize("recorded", [False, True], ids=["alone", "from-the-baseline"])
async def test_the_runner_kills_misses_times_out_and_skips_equivalents(
    tmp_path: Path, recorded: bool
) -> None:
    # The same verdicts whether the runner learns which tests run which lines by running them
    # all first, or from the record the baseline's measured run made (then only the kept
    # tests, written after the baseline, run first).
    repo = make_repo(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": CALC, "tests/test_calc.py": TESTS},
    )
    sandbox = LocalSandbox()
    try:
        per_test = None
        if recorded:
            baseline = await run_pytest(
                sandbox,
                repo,
                [],
                tag="baseline",
                timeout_s=120,
                measure=True,
                per_test=["pkg/calc.py"],
            )
            assert baseline.ok and baseline.per_test == per_test_record("baseline")
            per_test = baseline.per_test
        (repo / "tests/test_kept.py").write_text(KEPT)
        (repo / "tests/test_discarded.py").write_text("def test_broken():\n    assert False\n")
        measured = await measure_mutants(
            sandbox,
            repo,
            {"pkg/calc.py": {2, 4, 11}},
            TestFiles(kept=["tests/test_kept.py"], ignore=["tests/test_discarded.py"]),
            timeout_s=120,
            per_test=per_test,
        )
    finally:
        await sandbox.close()
    assert measured.problem is None
    # test_classify and test_countdown ran once, in the baseline: not a second time here.
    assert runner_start(repo)["from_baseline"] == (2 if recorded else 0)
    score = measured.score
    fate = {o.mutant.description: (o.status, o.by) for o in score.outcomes}
    assert fate == {
        "`n > 10` becomes `not n > 10`": ("killed", "existing"),
        "the condition `n > 10` is removed": ("killed", "existing"),
        # classify(50) and classify(1) miss the boundary; the kept test is at it.
        "`n > 10` becomes `n >= 10`": ("killed", "kept"),
        "`10` becomes `11`": ("survived", None),
        "`10` becomes `9`": ("killed", "kept"),
        # The loop never ends: a timeout, of its own, not a kill.
        "`n -= 1` becomes `n += 1`": ("timeout", "existing"),
        "`n -= 1` is removed": ("timeout", "existing"),
        "`1` becomes `2`": ("killed", "existing"),
        "`1` becomes `0`": ("timeout", "existing"),
    }
    assert score.equivalent == 2  # line 4's string statement: removed or emptied
    assert score.tests == 3  # the discarded candidate was not collected
    assert score.line(kept=True) == (
        "mutants of the changed lines: existing tests kill 3 of 9; with the kept tests 5 of 9 "
        "(3 hung a test (not counted as killed); 2 equivalent left out)"
    )


def outcome(line: int, kind: str, status: str, by: str | None = None) -> Outcome:
    mutant = Mutant(
        id=f"m.py:{line}:{kind}",
        path="m.py",
        line=line,
        lines=(line, line),
        function="f",
        kind=kind,
        description=f"`a{line}` becomes `b{line}`",
        start=1,
        end=20,
        source="",
        chain=(("f", 1),),
    )
    return Outcome(mutant, status, by)


def test_the_report_line_and_the_survivors_most_telling_first() -> None:
    score = MutantScore(
        outcomes=[
            outcome(3, "constant", "survived"),
            outcome(4, "return", "uncovered"),
            outcome(5, "statement", "survived"),
            outcome(5, "constant", "survived"),
            outcome(6, "comparison", "killed", "existing"),
            outcome(7, "boolean", "killed", "kept"),
            outcome(8, "arithmetic", "cut"),
        ],
        equivalent=1,
    )
    assert score.line(kept=False) == (
        "mutants of the changed lines: existing tests kill 1 of 7 "
        "(1 not run: the wall-time budget ran out; 1 equivalent left out)"
    )
    assert score.line(kept=True).startswith(  # type: ignore[union-attr]
        "mutants of the changed lines: existing tests kill 1 of 7; with the kept tests 2 of 7"
    )
    notices = score.annotations()
    # A survivor on a line the tests run comes before one on a line they never reach; a removed
    # statement before a changed constant; one notice a line.
    assert [(a.start_line, a.annotation_level) for a in notices] == [
        (5, "notice"),
        (3, "notice"),
        (4, "notice"),
    ]
    assert notices[0].message == "No test notices if `a5` becomes `b5`."
    assert notices[2].message == "No test notices if `a4` becomes `b4` (no test runs this line)."
    many = MutantScore(outcomes=[outcome(n, "constant", "survived") for n in range(1, 30)])
    assert len(many.annotations()) == 10
    assert MutantScore().line(kept=True) is None
    details = score.details()
    assert (details["total"], details["killed_by_existing"], details["killed_with_kept"]) == (
        7,
        1,
        2,
    )


def test_a_score_where_no_mutant_ran_to_an_answer_is_no_figure() -> None:
    # css-what: the batch timed out, the first mutant alone hung, the budget cut the rest
    stuck = MutantScore(
        outcomes=[outcome(3, "comparison", "timeout"), *(outcome(4, "constant", "cut"),) * 7]
    )
    assert none_judged(stuck) == (
        "none of the 8 mutants ran to an answer: 1 stopped at their time limit; "
        "7 cut by the wall-time budget"
    )
    judged = MutantScore(outcomes=[outcome(3, "comparison", "survived"), outcome(4, "x", "cut")])
    assert none_judged(judged) is None
    assert none_judged(MutantScore()) is None


def test_tests_that_passed_and_were_not_kept_are_no_failing_tests() -> None:
    production = Production(engine="characterize-js", engine_reason="characterization")
    production.verdicts = [
        Verdict("src/a.tandem.spec.ts", False, "passed 5/5 runs, but covers no changed line")
    ]
    result = unkept_result(production, TestGeneration())
    assert result is not None
    assert result.headline == (
        "no test kept: 1 generated file(s) passed, but none covers, kills or pins anything "
        "the existing tests do not"
    )
    production.problems = ["mutants: not run: x", "mutants: not run: x"]  # two stages, once
    assert unkept_result(production, TestGeneration()).headline.endswith(  # type: ignore[union-attr]
        "anything the existing tests do not; mutants: not run: x"
    )
    production.problems = []
    production.verdicts = [Verdict("t.py", False, "no test kept: passes `m.x` (a class)")]
    assert unkept_result(production, TestGeneration()).headline == (  # type: ignore[union-attr]
        "no test kept: passes `m.x` (a class)"
    )
    production.verdicts = [Verdict("src/a.tandem.spec.ts", False, "failed: boom")]
    assert unkept_result(production, TestGeneration()).headline == "no passing tests"  # type: ignore[union-attr]


def test_the_check_run_shows_the_score_and_notices_and_json_the_counts() -> None:
    production = Production(engine="characterize", engine_reason="characterization")
    production.kept = {"tests/test_kept.py": "def test_x():\n    pass\n"}
    production.verdicts = [Verdict("tests/test_kept.py", True, "covers")]
    production.mutants = MutantScore(
        outcomes=[
            outcome(3, "comparison", "killed", "existing"),
            outcome(4, "comparison", "killed", "kept"),
            outcome(5, "return", "survived"),
        ]
    )
    result = kept_result(production, TestGeneration(), "", [], {})
    assert (
        "mutants of the changed lines: existing tests kill 1 of 3; with the kept tests 2 of 3"
        in result.summary.splitlines()
    )
    assert [(a.path, a.start_line, a.annotation_level) for a in result.annotations] == [
        ("m.py", 5, "notice")
    ]
    assert result.details["mutants"]["killed_with_kept"] == 2
    assert result.status == "ok"
    nothing = Production(engine="characterize", engine_reason="characterization")
    nothing.nothing_to_do = "Every changed statement is covered by the existing tests already."
    nothing.before = nothing.after = ChangedCoverage({"m.py": {3, 4, 5}}, {"m.py": {3, 4, 5}})
    nothing.mutants = production.mutants
    unkept = unkept_result(nothing, TestGeneration())
    assert unkept is not None
    assert "mutants of the changed lines: existing tests kill 1 of 3" in unkept.summary
    assert "with the kept tests" not in unkept.summary
    assert len(unkept.annotations) == 1


async def test_a_runner_that_does_not_run_is_a_problem_of_the_part_never_a_score(
    tmp_path: Path,
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/calc.py": CALC, "tests/test_calc.py": TESTS},
    )
    sandbox = LocalSandbox()
    sandbox.use_python("/bin/false")  # an interpreter that never starts the session
    production = Production(engine="characterize", engine_reason="characterization")
    production.kept = {"tests/test_kept.py": "def test_x():\n    pass\n"}
    production.verdicts = [Verdict("tests/test_kept.py", True, "covers")]
    tg = TestGeneration()
    settings = Settings(llm_model=None, sandbox="local")  # type: ignore[call-arg]
    try:
        budget = Budget.start(tg, settings)
        ctx = Context(sandbox, repo, RepoConfig(), settings, budget, lambda _: None, PYTHON)
        await score_mutants(ctx, production, {"pkg/calc.py": {2}})
    finally:
        await sandbox.close()
    assert production.mutants is None
    assert production.problems == [
        "mutants: the mutant runner did not run the tests (exit 1: no output)"
    ]
    result = kept_result(production, tg, "", [], {})
    assert result.status == "warning"
    assert result.headline == (
        "1 test file(s) generated; mutants: the mutant runner did not run the tests "
        "(exit 1: no output)"
    )
    assert "mutants of the changed lines" not in result.summary


@pytest.mark.slow
async def test_a_module_the_tests_import_only_while_running_is_still_mutated(
    tmp_path: Path,
) -> None:
    # Nothing imports pkg.calc at collection: without a first run of the tests in the runner's
    # session its functions would not exist to swap, and every mutant would be an error.
    lazy = "def test_classify():\n    from pkg.calc import classify\n\n"
    lazy += "    assert classify(50) == 'big'\n    assert classify(1) == 'small'\n"
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "tests/test_calc.py": lazy,
            # Recording what each test runs adds no warning that this would make an error.
            "pytest.ini": "[pytest]\nfilterwarnings =\n    error\n",
        },
    )
    sandbox = LocalSandbox()
    try:
        baseline = await run_pytest(
            sandbox,
            repo,
            [],
            tag="baseline",
            timeout_s=120,
            measure=True,
            per_test=["pkg/calc.py"],
        )
        assert baseline.ok, baseline.output
        measured = await measure_mutants(
            sandbox,
            repo,
            {"pkg/calc.py": {2}},
            TestFiles(),
            timeout_s=120,
            per_test=baseline.per_test,
        )
    finally:
        await sandbox.close()
    assert runner_start(repo)["from_baseline"] == 1
    fate = {o.mutant.description: o.status for o in measured.score.outcomes}
    assert fate == {
        "`n > 10` becomes `not n > 10`": "killed",
        "the condition `n > 10` is removed": "killed",
        "`n > 10` becomes `n >= 10`": "survived",
        "`10` becomes `11`": "survived",
        "`10` becomes `9`": "survived",
    }
