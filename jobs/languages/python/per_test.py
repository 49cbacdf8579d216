"""Selection per test, not per file: the tests of every engine's candidate files are tidied
(:mod:`.tidy`), measured together, and the few that prove what nothing else proves are kept
and written back, one file per candidate.

Cost, for N tests in F files and ``runs`` validation runs: ONE measured pytest run of all the
candidates at once, with coverage.py's ``dynamic_context = test_function`` (each executed
line is recorded with the test that executed it, so one run says what every test covers),
then ``runs - 1`` runs of the kept tests only, together. Running each test alone would cost
``runs × N`` pytest starts. The measured run is also the ``--runxfail`` run that names the
exception of each Pynguin ``xfail(strict=True)`` test (see :mod:`.tidy`), which then becomes a
``pytest.raises`` test. If the run of everything times out, each file is measured on its own.

Choice: greedy by what a test proves that nothing before it did (:mod:`.proof.worth`), on the
kill matrix ``on_mutants`` gives; without one (a note says why), by the changed lines it newly
covers (ties to ``prefer(case)``, the shorter, the name), then by the functions it pins.
Lines run only at import count once, for the first test kept. A test that proves nothing new
is dropped, as is everything past ``max_tests``. A kept test that fails a later run is dropped
and the choice is made again without it (at most ``MAX_ROUNDS`` times).

The candidate files are measured where the engine wrote them (the repository's test
directory, so the project's ``conftest.py`` applies); each is overwritten with its kept tests,
or removed when none is kept. Deterministic: the same candidates give the same tests, names
and files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jobs.languages.python.per_test_choice import changed_functions
from jobs.languages.python.per_test_measure import (
    context_owner,
    flaky_runs,
    junit_outcomes,
    measure,
)
from jobs.languages.python.tidy import (
    Prelude,
    TestCase,
    TidyError,
    case_lines,
    join_tests,
    raised_from_junit,
    raises_problem,
    split_tests,
    to_raises,
)
from jobs.languages.python.tidy_names import name_tests
from jobs.languages.python.tidy_review import review
from jobs.languages.suite_run import SuiteRun
from jobs.sandbox import Sandbox
from jobs.testgen import line_sets
from jobs.testgen.per_test_selection import (
    OnBase,
    OnMutants,
    Options,
    PerTestSelection,
    kill_matrix,
)
from jobs.testgen.proof import worth
from jobs.testgen.test_choice import (
    Choice,
    Measured,
    choose_by_lines,
    choose_by_proof,
    choose_pins,
    pinned_by,
    preferring,
    record_verdicts,
)
from jobs.testgen.validation import Verdict

MAX_ROUNDS = 3


@dataclass
class _Candidate:
    path: str
    prelude: Prelude
    cases: list[TestCase]  # those that passed review
    total: int  # tests in the file as the engine wrote it


def _module(path: str) -> str:
    return PurePosixPath(path).with_suffix("").as_posix().replace("/", ".")


def _prepare(checkout: Path, paths: list[str], out: PerTestSelection) -> list[_Candidate]:
    candidates = []
    for path in sorted(set(paths)):
        try:
            prelude, cases = split_tests((checkout / path).read_text(encoding="utf-8"), path)
        except (OSError, UnicodeDecodeError, TidyError) as exc:
            out.verdicts.append(Verdict(path, False, f"not split into tests: {exc}"))
            continue
        kept = []
        for case in cases:
            reviewed = review(case, prelude)
            if reviewed.case is None:
                out.dropped.append((case.label, reviewed.reason))
            else:
                kept.append(reviewed.case)
        if not kept:
            out.verdicts.append(Verdict(path, False, "no test left after review"))
            continue
        candidates.append(_Candidate(path, prelude, kept, len(cases)))
        (checkout / path).write_text(join_tests(prelude, kept))
    return candidates


async def select_tests(
    sandbox: Sandbox,
    checkout: Path,
    candidates: list[str],
    baseline: SuiteRun,
    changed_exec: line_sets.Lines,
    options: Options,
) -> PerTestSelection:
    """Choose the tests of ``candidates`` (test files in the checkout) worth keeping, as
    ``options`` says."""
    started = time.monotonic()
    out = PerTestSelection()
    files = _prepare(checkout, candidates, out)
    modules = {_module(c.path): c.path for c in files}
    pool, collection = await _measure_pool(sandbox, checkout, files, changed_exec, options, out)
    prefer: Callable[[TestCase], bool] | None = options.prefer
    if options.on_base is not None:
        out.pinning = await _pinning(files, pool, options.on_base)
        if out.pinning:
            prefer = preferring(out.pinning, prefer)
    base = line_sets.restrict(baseline.executed, changed_exec)
    functions = changed_functions(checkout, changed_exec)
    out.matrix = await _kill_matrix(checkout, files, pool, options.on_mutants, out)

    def choose(usable: list[Measured[TestCase]]) -> Choice[TestCase]:
        if out.matrix is not None:
            found = choose_by_proof(
                usable, out.matrix, out.pinning, base, collection, functions, options.max_tests
            )
            chosen, covered, rejected = found.choice
            out.pinned, out.kills = found.pinned, found.kills
            return chosen, covered, rejected
        chosen, covered, rejected = choose_by_lines(
            usable, base, collection, options.max_tests, prefer
        )
        picked = {m.case.label for m, _ in chosen}
        rest = [m for m in usable if m.case.label not in picked]
        pins, out.pinned = choose_pins(
            [m for m, _ in chosen], rest, out.pinning, functions, pinned_by
        )
        pinned = {m.case.label for m in pins}
        rejected = [r for r in rejected if r[0] not in pinned]
        return chosen + [(m, {}) for m in pins], covered, rejected

    excluded: dict[str, str] = {}
    for round_number in range(1, MAX_ROUNDS + 1):
        usable = [m for m in pool if m.case.label not in excluded]
        chosen, covered, rejected = choose(usable)
        texts, names = _write(checkout, files, [m for m, _ in chosen])
        failing, ran = await flaky_runs(
            sandbox, checkout, texts, names, modules, options.runs, options.left
        )
        out.pytest_runs += ran
        excluded.update(failing)
        if not failing:
            break
        if round_number == MAX_ROUNDS:  # the rest passed every run of this round
            rest = [m for m, _ in chosen if m.case.label not in failing]
            chosen, covered, more = choose(rest)
            rejected += more
            texts, names = _write(checkout, files, [m for m, _ in chosen])
    out.dropped.extend(excluded.items())
    out.dropped.extend(rejected)
    out.covered, out.kept_files = covered, texts
    final = {label: name for per in names.values() for name, label in per.items()}
    record_verdicts(out, {c.path: c.total for c in files}, chosen, final, options.runs)
    out.duration_s = time.monotonic() - started
    return out


async def _measure_pool(
    sandbox: Sandbox,
    checkout: Path,
    files: list[_Candidate],
    changed_exec: line_sets.Lines,
    options: Options,
    out: PerTestSelection,
) -> tuple[list[Measured[TestCase]], line_sets.Lines]:
    """One measured run of every candidate (each file alone if that times out): the tests that
    passed, with the changed lines each runs, and the changed lines run at import."""
    modules = {_module(c.path): c.path for c in files}
    paths = [c.path for c in files]
    measured: list[tuple[str, SuiteRun, dict[str, line_sets.Lines], line_sets.Lines, Path]] = []
    if paths:
        run, contexts, outside, junit = await measure(
            sandbox, checkout, paths, tag="per-test", timeout_s=options.left()
        )
        out.pytest_runs += 1
        if run.timed_out and len(paths) > 1:
            for index, path in enumerate(paths):
                one = await measure(
                    sandbox, checkout, [path], tag=f"per-test-{index}", timeout_s=options.left()
                )
                out.pytest_runs += 1
                measured.append((path, *one))
        else:
            measured.append(("", run, contexts, outside, junit))
    pool: list[Measured[TestCase]] = []
    collection: line_sets.Lines = {}
    for only, run, contexts, outside, junit in measured:
        collection = line_sets.union(collection, line_sets.restrict(outside, changed_exec))
        per_case: dict[tuple[str, str], line_sets.Lines] = {}
        for context, lines in contexts.items():
            owner = context_owner(context, modules)
            if owner is not None:
                mine = line_sets.restrict(lines, changed_exec)
                per_case[owner] = line_sets.union(per_case.get(owner, {}), mine)
        judged = _Run(run, junit, modules, per_case)
        for candidate in files:
            if not only or candidate.path == only:
                pool += _judge_cases(checkout, candidate, judged, out)
    return pool, collection


@dataclass(frozen=True)
class _Run:
    """One measured run: its result, JUnit report, candidate modules and lines per test."""

    run: SuiteRun
    junit: Path
    modules: dict[str, str]
    per_case: dict[tuple[str, str], line_sets.Lines]


def _judge_cases(
    checkout: Path, candidate: _Candidate, measured: _Run, out: PerTestSelection
) -> list[Measured[TestCase]]:
    """The candidate's tests that passed the measured run (a Pynguin "expects an exception"
    test becomes a ``pytest.raises`` one); the others are dropped, with why."""
    run, junit = measured.run, measured.junit
    outcomes = junit_outcomes(junit, measured.modules)
    junit_text = junit.read_text(encoding="utf-8") if junit.exists() else ""
    starts = case_lines((checkout / candidate.path).read_text(encoding="utf-8"))
    raised = raised_from_junit(junit_text, candidate.path)
    passed = []
    for case in candidate.cases:
        key = (candidate.path, case.name)
        why = outcomes.get(key)
        if run.timed_out:
            why = f"timed out after {run.duration_s:.0f} s (with its file)"
        elif why is None:
            why = "did not run (collection error?)"
        elif case.expects_exception and why.startswith("failed") and case.name in raised:
            exc = raised[case.name]
            why = raises_problem(case, exc, starts.get(case.name, 1)) or ""
            if not why:
                case = to_raises(case, exc.exc_type, exc.message)
        elif case.expects_exception and not why:
            why = "expected to raise, but did not"
        if why or not run.measured:
            out.dropped.append((case.label, why or "coverage was not measured"))
            continue
        passed.append(Measured(case, measured.per_case.get(key, {})))
    return passed


async def _kill_matrix(
    checkout: Path,
    files: list[_Candidate],
    pool: list[Measured[TestCase]],
    on_mutants: OnMutants | None,
    out: PerTestSelection,
) -> list[worth.Kills] | None:
    """The mutants of the changed lines against the existing tests and every measured
    candidate: which candidates kill which mutants. None (and a note why) where they did not
    run: then the choice is by lines and pins only."""
    if on_mutants is None or not pool:
        return None
    label_of: dict[str, str] = {}
    paths = []
    for candidate in files:
        # As measured: only the tests that passed, Pynguin's turned into pytest.raises ones.
        cases = [m.case for m in pool if m.case.origin == candidate.path]
        if cases:
            (checkout / candidate.path).write_text(join_tests(candidate.prelude, cases))
            paths.append(candidate.path)
            label_of.update({f"{candidate.path}::{c.name}": c.label for c in cases})
    return await kill_matrix(on_mutants, paths, out, lambda score: worth.relabeled(score, label_of))


async def _pinning(
    files: list[_Candidate], pool: list[Measured[TestCase]], on_base: OnBase
) -> set[str]:
    """The labels of the pool's tests that fail on the base commit. Each test runs there in a
    file of its own, with only the imports it uses: a file that does not import on the base
    (another test of it uses what the change adds) must not count for every test in it."""
    texts: dict[str, str] = {}
    owner: dict[tuple[str, str], str] = {}
    for candidate in files:
        stem = PurePosixPath(candidate.path)
        for index, m in enumerate(c for c in pool if c.case.origin == candidate.path):
            path = stem.with_name(f"{stem.stem}_pin{index}.py").as_posix()
            texts[path] = join_tests(candidate.prelude, [m.case])
            owner[(path, m.case.name)] = m.case.label
    failing = await on_base(texts) if texts else None
    if not failing:
        return set()
    return {owner[key] for key in failing if key in owner}


def _write(
    checkout: Path, files: list[_Candidate], chosen: list[Measured[TestCase]]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Write each candidate file with its chosen tests (remove it when none): the texts, and
    per file each final test name's label."""
    labels = {m.case.label for m in chosen}
    by_label = {m.case.label: m.case for m in chosen}
    texts: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {}
    for candidate in files:
        cases = [by_label[c.label] for c in candidate.cases if c.label in labels]
        if not cases:
            (checkout / candidate.path).unlink(missing_ok=True)
            continue
        named = name_tests(cases, candidate.prelude)
        texts[candidate.path] = join_tests(candidate.prelude, named)
        (checkout / candidate.path).write_text(texts[candidate.path])
        names[candidate.path] = {n.name: n.label for n in named}
    return texts, names
